package io.qlorastream.engine.compute.cuda;

/**
 * What GPU-resident training (the training layer's {@code CudaTrainingModel}) asks of a GPU: memory, device-to-device
 * copies, kernel launches by name and the three cuBLAS products it uses, with cuBLAS's own column-major semantics and
 * host scalars. {@link CudaTrainingDevice}
 * is the real one; a CPU test emulates it (memory in a host buffer, kernels and products in Java) to check the
 * model's orchestration (which buffer, which offsets, which order, the row-major → column-major operand swap, the loss
 * chunks) against the CPU model without a GPU.
 */
public interface TrainingDevice {
    /** Makes the device current on the calling thread; throws when it is closed. */
    void enter();

    /** {@code bytes} (at least 1) of device memory; content undefined. */
    DeviceBuffer allocate(long bytes);

    void copy(long dst, long src, long bytes);

    void launch(String kernel, int gridX, int blockX, CudaKernels.Args args);

    /** A grid-stride kernel over n elements. */
    void launchElementwise(String kernel, long n, CudaKernels.Args args);

    /** cublasSgemm: column-major {@code C[m,n] = alpha·op(A)[m,k]·op(B)[k,n] + beta·C} (C not read when beta is 0). */
    void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda, long b, int ldb,
               float beta, long c, int ldc);

    /** cublasSgemmStridedBatched: {@link #sgemm} for i < count at a + i·strideA (strides in floats), likewise b, c. */
    void sgemmStridedBatched(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda, long strideA,
                             long b, int ldb, long strideB, float beta, long c, int ldc, long strideC, int count);

    /** cublasGemmEx with fp32 C and CUBLAS_COMPUTE_32F; A and B bf16 or fp32 ({@code bf16} for both). */
    void gemmEx(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda, long b, int ldb,
                float beta, long c, int ldc, boolean bf16);
}
