package io.qlorastream.engine.compute.cuda;

import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F;
import static org.bytedeco.cuda.global.cublas.CUBLAS_GEMM_DEFAULT;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_N;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_T;
import static org.bytedeco.cuda.global.cublas.cublasGemmEx;
import static org.bytedeco.cuda.global.cublas.cublasSgemmStridedBatched;
import static org.bytedeco.cuda.global.cublas.cublasSgemm_v2;
import static org.bytedeco.cuda.global.cudart.CUDA_R_16BF;
import static org.bytedeco.cuda.global.cudart.CUDA_R_32F;
import static org.bytedeco.cuda.global.cudart.cudaMemcpy;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToDevice;

/**
 * {@link TrainingDevice} on a {@link CudaBackend}'s GPU: its context, its NVRTC kernels and its cuBLAS handle (default
 * stream, so kernels and products run in issue order). Every call's status is checked.
 */
final class CudaTrainingDevice implements TrainingDevice, AutoCloseable {
    private final CudaBackend backend;
    private final CudaKernels kernels;
    private final cublasContext cublas;
    private final FloatPointer alpha = new FloatPointer(1);
    private final FloatPointer beta = new FloatPointer(1);

    CudaTrainingDevice(CudaBackend backend) {
        this.backend = backend;
        this.kernels = backend.kernels();
        this.cublas = backend.cublas();
    }

    @Override
    public void enter() {
        backend.enterDevice();
    }

    @Override
    public DeviceBuffer allocate(long bytes) {
        return DeviceBuffer.allocate(bytes);
    }

    @Override
    public void copy(long dst, long src, long bytes) {
        CudaStatus.runtime("cudaMemcpy(device to device)", cudaMemcpy(at(dst), at(src), bytes, cudaMemcpyDeviceToDevice));
    }

    @Override
    public void launch(String kernel, int gridX, int blockX, CudaKernels.Args args) {
        kernels.launch(kernel, gridX, blockX, args);
    }

    @Override
    public void launchElementwise(String kernel, long n, CudaKernels.Args args) {
        kernels.launchElementwise(kernel, n, args);
    }

    private static int op(boolean trans) {
        return trans ? CUBLAS_OP_T : CUBLAS_OP_N;
    }

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float al, long a, int lda, long b, int ldb,
                      float be, long c, int ldc) {
        alpha.put(al);
        beta.put(be);
        CudaStatus.cublas("cublasSgemm_v2", cublasSgemm_v2(cublas, op(transA), op(transB), m, n, k, alpha, floats(a), lda,
                floats(b), ldb, beta, floats(c), ldc));
    }

    @Override
    public void sgemmStridedBatched(boolean transA, boolean transB, int m, int n, int k, float al, long a, int lda,
                                    long strideA, long b, int ldb, long strideB, float be, long c, int ldc, long strideC,
                                    int count) {
        alpha.put(al);
        beta.put(be);
        CudaStatus.cublas("cublasSgemmStridedBatched", cublasSgemmStridedBatched(cublas, op(transA), op(transB), m, n, k,
                alpha, floats(a), lda, strideA, floats(b), ldb, strideB, beta, floats(c), ldc, strideC, count));
    }

    @Override
    public void gemmEx(boolean transA, boolean transB, int m, int n, int k, float al, long a, int lda, long b, int ldb,
                       float be, long c, int ldc, boolean bf16) {
        alpha.put(al);
        beta.put(be);
        int type = bf16 ? CUDA_R_16BF : CUDA_R_32F;
        CudaStatus.cublas("cublasGemmEx", cublasGemmEx(cublas, op(transA), op(transB), m, n, k, alpha, at(a), type, lda,
                at(b), type, ldb, beta, at(c), CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    }

    /** A JavaCPP pointer at an exact device address (position 0), for cuBLAS and runtime arguments. */
    static Pointer at(long address) {
        return DeviceBuffer.at(address);
    }

    private static FloatPointer floats(long address) {
        return new FloatPointer(at(address));
    }

    @Override
    public void close() {
        alpha.close();
        beta.close();
    }
}
