package io.qlorastream.engine.compute.cuda;

import io.qlorastream.engine.compute.Backend;
import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.quant.Nf4Tensor;
import io.qlorastream.engine.tensor.WeightMatrix;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.javacpp.FloatPointer;

import java.util.IdentityHashMap;
import java.util.Map;
import java.util.function.IntConsumer;

import static org.bytedeco.cuda.global.cublas.CUBLAS_DEFAULT_MATH;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_N;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_T;
import static org.bytedeco.cuda.global.cublas.cublasCreate_v2;
import static org.bytedeco.cuda.global.cublas.cublasDestroy_v2;
import static org.bytedeco.cuda.global.cublas.cublasSetMathMode;
import static org.bytedeco.cuda.global.cublas.cublasSgemm_v2;
import static org.bytedeco.cuda.global.cudart.cudaDeviceSynchronize;
import static org.bytedeco.cuda.global.cudart.cudaSetDevice;

/**
 * The {@link Backend} on an NVIDIA GPU (device 0) through Bytedeco CUDA: the products with frozen weights and the
 * batched attention products run in cuBLAS (fp32 in, fp32 accumulation, no TF32, so results stay within float
 * rounding of the CPU backend); NF4 weights are uploaded once, packed, and dequantized on the GPU by an NVRTC-compiled
 * kernel into a bounded scratch, block of rows by block of rows, right before each product. {@link #parallelFor} and
 * therefore every kernel the model still writes in Java (RMSNorm, RoPE, softmax, SwiGLU, LoRA, AdamW, cross-entropy)
 * runs on the CPU threads of an inner {@link CpuBackend}.
 * <p>
 * <b>Training does not go through this interface:</b> the training layer's {@code CudaTrainingModel} works on this
 * backend's {@link #trainingDevice} and keeps weights, activations, the adapter and AdamW's moments on the GPU,
 * computing every layer there (bf16 products). What still
 * goes through the {@link io.qlorastream.engine.compute.Backend} methods below (scoring, generation, evaluation) has
 * Java-array activations: every product copies its input to the GPU and its output back, in fp32, and the rest of the
 * model runs on the CPU threads. Non-NF4 weights (BF16/F32) are kept on the GPU as fp32 for that path.
 * <p>
 * Like {@link CpuBackend}, not for concurrent use from several threads: the public methods are synchronized.
 */
public final class CudaBackend implements Backend {
    /** Bound of the dequantized-weight scratch in floats (64 MiB): large products go block of rows by block. */
    static final long SCRATCH_FLOATS = 1L << 24;
    private static final int DEVICE = 0;

    private final CpuBackend host;
    private final CudaProbe.Result gpu;
    private final cublasContext cublas;
    private final CudaKernels kernels;
    private final Map<WeightMatrix, DeviceWeight> weights = new IdentityHashMap<>();
    private final FloatPointer one = new FloatPointer(1).put(1f);
    private final FloatPointer zero = new FloatPointer(1).put(0f);
    private DeviceBuffer scratch;
    /** Releases of what holds device memory on this backend (training engines): run before the context's handle goes. */
    private final java.util.List<Runnable> releases = new java.util.ArrayList<>();
    private DeviceBuffer bufA;
    private DeviceBuffer bufB;
    private DeviceBuffer bufC;
    private boolean closed;

    private CudaBackend(int threads, CudaProbe.Result gpu) {
        this.gpu = gpu;
        this.host = new CpuBackend(threads);
        cublasContext handle = null;
        CudaKernels k = null;
        try {
            CudaStatus.runtime("cudaSetDevice(" + DEVICE + ")", cudaSetDevice(DEVICE));
            handle = new cublasContext();
            CudaStatus.cublas("cublasCreate_v2", cublasCreate_v2(handle));
            // fp32 products stay fp32 (no TF32 tensor-op rounding) until the bf16 path exists
            CudaStatus.cublas("cublasSetMathMode", cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH));
            k = new CudaKernels(gpu.ccMajor(), gpu.ccMinor());
        } catch (RuntimeException | LinkageError e) {
            if (handle != null && !handle.isNull()) {
                cublasDestroy_v2(handle);
            }
            host.close();
            throw e;
        }
        this.cublas = handle;
        this.kernels = k;
    }

    /**
     * Opens the backend on device 0, compiling the kernels; throws {@link CudaException} naming the reason when there
     * is no usable GPU (see {@link CudaProbe}) or a CUDA call fails.
     */
    public static CudaBackend open(int threads) {
        CudaProbe.Result gpu = CudaProbe.probe();
        if (!gpu.available()) {
            throw new CudaException("no usable CUDA GPU: " + gpu.reason(), null);
        }
        return new CudaBackend(threads, gpu);
    }

    @Override
    public String name() {
        return "cuda";
    }

    /** What the probe found (device name and compute capability). */
    public CudaProbe.Result gpu() {
        return gpu;
    }

    @Override
    public int threads() {
        return host.threads();
    }

    @Override
    public void parallelFor(int count, IntConsumer body) {
        host.parallelFor(count, body);
    }

    @Override
    public synchronized void linearForward(float[] y, float[] x, int m, WeightMatrix w, float[] bias) {
        int n = w.rows();
        int k = w.cols();
        enter();
        DeviceWeight dw = weight(w);
        bufA = ensure(bufA, (long) m * k);
        bufC = ensure(bufC, (long) m * n);
        bufA.upload(x, 0, m * k, 0);
        int block = dw.rowsPerBlock();
        for (int r0 = 0; r0 < n; r0 += block) {
            int rc = Math.min(block, n - r0);
            FloatPointer wRows = dw.rows(r0, rc);
            // y[:, r0:r0+rc] = x · W[r0:r0+rc]ᵀ
            gemm(false, true, m, rc, k, one, bufA.floatsAt(0), k, wRows, k, zero, bufC.floatsAt(r0), n);
        }
        bufC.download(0, y, 0, m * n);
        if (bias != null) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    y[i * n + j] += bias[j];
                }
            }
        }
    }

    @Override
    public synchronized void linearBackward(float[] dx, float[] dy, int m, WeightMatrix w) {
        int n = w.rows();
        int k = w.cols();
        enter();
        DeviceWeight dw = weight(w);
        bufA = ensure(bufA, (long) m * n);
        bufC = ensure(bufC, (long) m * k);
        bufA.upload(dy, 0, m * n, 0);
        bufC.upload(dx, 0, m * k, 0);
        int block = dw.rowsPerBlock();
        for (int r0 = 0; r0 < n; r0 += block) {
            int rc = Math.min(block, n - r0);
            FloatPointer wRows = dw.rows(r0, rc);
            // dx += dy[:, r0:r0+rc] · W[r0:r0+rc]
            gemm(false, false, m, k, rc, one, bufA.floatsAt(r0), n, wRows, k, one, bufC.floatsAt(0), k);
        }
        bufC.download(0, dx, 0, m * k);
    }

    @Override
    public synchronized void sgemmBatched(boolean transA, boolean transB, int m, int n, int k, float alpha,
                                          float[] a, int[] aOff, int lda, float[] b, int[] bOff, int ldb,
                                          float beta, float[] c, int[] cOff, int ldc) {
        int count = aOff.length;
        if (count == 0 || m == 0 || n == 0) {
            return;
        }
        enter();
        int[] aSpan = Backend.batchSpan(aOff, transA ? k : m, transA ? m : k, lda);
        int[] bSpan = Backend.batchSpan(bOff, transB ? n : k, transB ? k : n, ldb);
        int[] cSpan = Backend.batchSpan(cOff, m, n, ldc);
        bufA = ensure(bufA, aSpan[1] - aSpan[0]);
        bufB = ensure(bufB, bSpan[1] - bSpan[0]);
        bufC = ensure(bufC, cSpan[1] - cSpan[0]);
        bufA.upload(a, aSpan[0], aSpan[1] - aSpan[0], 0);
        bufB.upload(b, bSpan[0], bSpan[1] - bSpan[0], 0);
        bufC.upload(c, cSpan[0], cSpan[1] - cSpan[0], 0); // gaps no product writes must survive
        try (FloatPointer al = new FloatPointer(1).put(alpha); FloatPointer be = new FloatPointer(1).put(beta)) {
            for (int i = 0; i < count; i++) {
                gemm(transA, transB, m, n, k, al, bufA.floatsAt(aOff[i] - aSpan[0]), lda,
                        bufB.floatsAt(bOff[i] - bSpan[0]), ldb, be, bufC.floatsAt(cOff[i] - cSpan[0]), ldc);
            }
        }
        bufC.download(0, c, cSpan[0], cSpan[1] - cSpan[0]);
    }

    /** Weight rows {@code [r0, r0 + rc)} dequantized on the GPU (for tests: NF4 must match the CPU bit for bit). */
    public synchronized float[] dequantizeOnDevice(WeightMatrix w, int r0, int rc) {
        enter();
        DeviceWeight dw = weight(w);
        float[] out = new float[rc * w.cols()];
        int block = dw.rowsPerBlock();
        for (int r = 0; r < rc; r += block) {
            int cnt = Math.min(block, rc - r);
            FloatPointer rows = dw.rows(r0 + r, cnt);
            try (FloatPointer hostRows = new FloatPointer((long) cnt * w.cols())) {
                CudaStatus.runtime("cudaMemcpy(device to host)", org.bytedeco.cuda.global.cudart.cudaMemcpy(hostRows,
                        DeviceBuffer.at(rows.address() + rows.position() * Float.BYTES),
                        (long) cnt * w.cols() * Float.BYTES, org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToHost));
                hostRows.get(out, r * w.cols(), cnt * w.cols());
            }
        }
        return out;
    }

    /**
     * This backend's GPU as GPU-resident training uses it: its context, kernels and cuBLAS handle. The device's user
     * frees what it allocates there itself, or through {@link #onClose}.
     */
    public TrainingDevice trainingDevice() {
        enter();
        return new CudaTrainingDevice(this);
    }

    /** Runs {@code release} (freeing device memory something holds here) when this backend closes, before its handle. */
    public synchronized void onClose(Runnable release) {
        enter();
        releases.add(release);
    }

    /** The compiled kernels (for {@link CudaTrainingDevice} and tests, which share this backend's context and handle). */
    CudaKernels kernels() {
        return kernels;
    }

    cublasContext cublas() {
        return cublas;
    }

    /** Makes the device current on the calling thread; throws when closed. */
    void enterDevice() {
        enter();
    }

    /** Waits for all queued GPU work and reports its errors (kernel faults surface here). */
    public synchronized void synchronize() {
        enter();
        CudaStatus.runtime("cudaDeviceSynchronize", cudaDeviceSynchronize());
    }

    // ---- internals ----

    /** Makes the device current on the calling thread (driver-API launches need the context there). */
    private void enter() {
        if (closed) {
            throw new IllegalStateException("CUDA backend is closed");
        }
        CudaStatus.runtime("cudaSetDevice(" + DEVICE + ")", cudaSetDevice(DEVICE));
    }

    /**
     * Row-major {@code C[m,n] = alpha·op(A)[m,k]·op(B)[k,n] + beta·C} on column-major cuBLAS: a row-major matrix is
     * its transpose in column-major, so this computes {@code Cᵀ = op(B)ᵀ·op(A)ᵀ} with the operands swapped.
     */
    private void gemm(boolean transA, boolean transB, int m, int n, int k, FloatPointer alpha,
                      FloatPointer a, int lda, FloatPointer b, int ldb, FloatPointer beta, FloatPointer c, int ldc) {
        ColumnMajorGemm g = ColumnMajorGemm.of(transA, transB, m, n, k);
        // the first column-major operand is B, the second A
        CudaStatus.cublas("cublasSgemm_v2", cublasSgemm_v2(cublas, g.transFirst() ? CUBLAS_OP_T : CUBLAS_OP_N,
                g.transSecond() ? CUBLAS_OP_T : CUBLAS_OP_N, g.m(), g.n(), g.k(), alpha, b, ldb, a, lda, beta, c, ldc));
    }

    /**
     * The column-major product cuBLAS computes for a row-major {@code C[m,n] = op(A)·op(B)}: {@code Cᵀ[n,m] =
     * op(B)ᵀ·op(A)ᵀ}, first operand B (transposed iff transB), second A (iff transA), leading dimensions unchanged.
     * Separate so that a test checks the mapping on the CPU against a Java model of cuBLAS' semantics.
     */
    public record ColumnMajorGemm(boolean transFirst, boolean transSecond, int m, int n, int k) {
        public static ColumnMajorGemm of(boolean transA, boolean transB, int m, int n, int k) {
            return new ColumnMajorGemm(transB, transA, n, m, k);
        }
    }

    private static DeviceBuffer ensure(DeviceBuffer b, long floats) {
        long need = Math.max(1, floats) * Float.BYTES;
        if (b != null && b.bytes() >= need) {
            return b;
        }
        if (b != null) {
            b.close();
        }
        return DeviceBuffer.allocate(Math.max(need, b == null ? 0 : b.bytes() + b.bytes() / 2));
    }

    private DeviceWeight weight(WeightMatrix w) {
        DeviceWeight dw = weights.get(w);
        if (dw == null) {
            dw = w instanceof Nf4Tensor nf4 ? new Nf4Weight(nf4) : new DenseWeight(w);
            weights.put(w, dw);
        }
        return dw;
    }

    /** A frozen weight resident on the GPU, handing out fp32 blocks of rows. */
    private abstract class DeviceWeight implements AutoCloseable {
        final int rows;
        final int cols;

        DeviceWeight(WeightMatrix w) {
            this.rows = w.rows();
            this.cols = w.cols();
        }

        /** Rows per block so a block fits the scratch. */
        int rowsPerBlock() {
            return (int) Math.max(1, Math.min(rows, SCRATCH_FLOATS / Math.max(1, cols)));
        }

        /** fp32 rows [r0, r0 + rc), valid until the next call; rc ≤ {@link #rowsPerBlock()}. */
        abstract FloatPointer rows(int r0, int rc);

        @Override
        public abstract void close();
    }

    /** NF4 stays packed on the GPU (4.1 bits a weight with double quant); rows are dequantized into the scratch. */
    private final class Nf4Weight extends DeviceWeight {
        final Nf4Tensor t;
        final DeviceBuffer packed;
        final DeviceBuffer code;
        final DeviceBuffer absmax;        // plain absmax, or the 8-bit quantized absmax with double quant
        final DeviceBuffer nestedAbsmax;  // double quant only
        final DeviceBuffer nestedMap;     // double quant only

        Nf4Weight(Nf4Tensor t) {
            super(t);
            this.t = t;
            this.packed = DeviceBuffer.of(t.packed());
            this.code = DeviceBuffer.of(t.quantMap());
            if (t.doubleQuant()) {
                this.absmax = DeviceBuffer.of(t.quantizedAbsmax());
                this.nestedAbsmax = DeviceBuffer.of(t.nestedAbsmax());
                this.nestedMap = DeviceBuffer.of(t.nestedQuantMap());
            } else {
                this.absmax = DeviceBuffer.of(t.absmax());
                this.nestedAbsmax = null;
                this.nestedMap = null;
            }
        }

        @Override
        FloatPointer rows(int r0, int rc) {
            long count = (long) rc * cols;
            scratch = ensure(scratch, Math.min(SCRATCH_FLOATS, (long) rowsPerBlock() * cols));
            long start = (long) r0 * cols;
            CudaKernels.Args args = new CudaKernels.Args();
            try (args) {
                if (t.doubleQuant()) {
                    args.ptr(packed).ptr(absmax).ptr(nestedAbsmax).ptr(nestedMap).f32(t.nestedOffset())
                            .i32(t.nestedBlockSize()).ptr(code).i32(t.blockSize()).i64(start).i64(count).ptr(scratch);
                    kernels.launchElementwise("nf4_dequantize_dq", count, args);
                } else {
                    args.ptr(packed).ptr(absmax).ptr(code).i32(t.blockSize()).i64(start).i64(count).ptr(scratch);
                    kernels.launchElementwise("nf4_dequantize", count, args);
                }
            }
            return scratch.floatsAt(0);
        }

        @Override
        public void close() {
            packed.close();
            code.close();
            absmax.close();
            if (nestedAbsmax != null) {
                nestedAbsmax.close();
                nestedMap.close();
            }
        }
    }

    /** Any other weight (BF16, F32) is held on the GPU as fp32, dequantized once on the host at upload. */
    private final class DenseWeight extends DeviceWeight {
        final DeviceBuffer data;

        DenseWeight(WeightMatrix w) {
            super(w);
            this.data = DeviceBuffer.floats((long) rows * cols);
            int block = rowsPerBlock();
            float[] tmp = new float[block * cols];
            for (int r0 = 0; r0 < rows; r0 += block) {
                int rc = Math.min(block, rows - r0);
                w.dequantizeRows(r0, rc, tmp, 0);
                data.upload(tmp, 0, rc * cols, (long) r0 * cols);
            }
        }

        @Override
        int rowsPerBlock() {
            // the blocks only bound the host-side upload buffer; products may take the whole matrix at once
            return (int) Math.max(1, Math.min(rows, SCRATCH_FLOATS / Math.max(1, cols)));
        }

        @Override
        FloatPointer rows(int r0, int rc) {
            return data.floatsAt((long) r0 * cols);
        }

        @Override
        public void close() {
            data.close();
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        try {
            cudaSetDevice(DEVICE);
            releases.forEach(Runnable::run);
            releases.clear();
            weights.values().forEach(DeviceWeight::close);
            weights.clear();
            for (DeviceBuffer b : new DeviceBuffer[]{scratch, bufA, bufB, bufC}) {
                if (b != null) {
                    b.close();
                }
            }
            kernels.close();
            CudaStatus.cublas("cublasDestroy_v2", cublasDestroy_v2(cublas));
        } finally {
            closed = true;
            one.close();
            zero.close();
            host.close();
        }
    }
}
