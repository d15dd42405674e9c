package io.qlorastream.engine.compute;

import io.qlorastream.engine.tensor.WeightMatrix;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;

import java.util.function.IntConsumer;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_saxpy;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

/**
 * CPU backend: matrix products through OpenBLAS {@code cblas_sgemm} (Bytedeco), everything else in Java on a fixed
 * gang of threads (the caller and threads − 1 helpers, see {@link WorkerGang}). OpenBLAS itself runs single-threaded;
 * the parallelism is ours: each task dequantizes a block of weight rows into its own scratch and multiplies it, so no
 * weight is ever dequantized whole.
 * <p>
 * Not safe for concurrent calls from several threads (the native staging buffers are shared); the public methods are
 * synchronized for that reason.
 */
public final class CpuBackend implements Backend {

    /** Weight block size target in floats (about 1 MiB): large enough for sgemm efficiency, small enough for cache. */
    private static final int BLOCK_FLOATS = 1 << 18;

    static {
        // Our gang provides the parallelism; OpenBLAS threads inside it would oversubscribe the cores.
        openblas_nolapack.blas_set_num_threads(1);
    }

    /**
     * Up to this many input rows (decoding) a product is memory-bound: dot products in Java straight from a small,
     * cache-resident block of dequantized rows beat staging the block into native memory for sgemm.
     */
    static final int SMALL_M = 4;
    private static final int SMALL_BLOCK_ROWS = 16;

    private final int threads;
    private final WorkerGang gang;
    private final Scratch[] scratch;
    private final NativeBuffer stageA = new NativeBuffer();
    private final NativeBuffer stageB = new NativeBuffer();
    private final NativeBuffer stageC = new NativeBuffer();
    /** A low-rank term's B [out, r] for the fused linear forward. */
    private final NativeBuffer stageLowRank = new NativeBuffer();

    public CpuBackend(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        this.gang = new WorkerGang(threads, "cpu-backend");
        this.scratch = new Scratch[threads];
        for (int i = 0; i < threads; i++) {
            scratch[i] = new Scratch();
        }
    }

    /** A backend with one thread per available processor. */
    public static CpuBackend withDefaultThreads() {
        return new CpuBackend(Runtime.getRuntime().availableProcessors());
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int threads() {
        return threads;
    }

    @Override
    public void parallelFor(int count, IntConsumer body) {
        if (count <= 0) {
            return;
        }
        if (threads == 1 || count == 1) {
            for (int i = 0; i < count; i++) {
                body.accept(i);
            }
            return;
        }
        int tasks = Math.min(threads, count);
        gang.run(tasks, task -> {
            for (int i = task; i < count; i += tasks) {
                body.accept(i);
            }
        });
    }

    /** Runs {@code body.accept(task)} for task in [0, threads) in parallel (one per gang thread). */
    private void perThread(IntConsumer body) {
        gang.run(threads, body);
    }

    /**
     * Weight rows per block: blocks of at most about {@link #BLOCK_FLOATS}, as few as that allows in a multiple of the
     * thread count (every block costs one more packing of the whole input inside sgemm, and the backward's inner
     * dimension is the block's rows: few large blocks beat many small ones).
     */
    private int rowsPerBlock(int rows, int cols) {
        int byCache = Math.max(16, BLOCK_FLOATS / Math.max(1, cols));
        int blocks = threads * ((rows + threads * byCache - 1) / (threads * byCache));
        return Math.min(rows, Math.max(16, (rows + blocks - 1) / blocks));
    }

    @Override
    public void linearForward(float[] y, float[] x, int m, WeightMatrix w, float[] bias) {
        linearForward(y, x, m, w, bias, null);
    }

    /**
     * The frozen product and, per block of output columns while it is in native memory, the low-rank term as a second
     * product into the same block: y is copied out once instead of being staged in and out again for a separate
     * product (LoRA's B product on every targeted projection). The bias is added last, in Java.
     */
    @Override
    public synchronized void linearForward(float[] y, float[] x, int m, WeightMatrix w, float[] bias, LowRank extra) {
        int n = w.rows();
        int k = w.cols();
        if (m <= SMALL_M) {
            smallLinearForward(y, x, m, w, bias);
            if (extra != null) {
                extra.addTo(this, y, m, n);
            }
            return;
        }
        FloatPointer xs = stageIn(stageA, x, 0, m * k);
        FloatPointer ys = stageC.ensure((long) m * n);
        int r = extra == null ? 0 : extra.r();
        FloatPointer axs = extra == null ? null : stageIn(stageB, extra.ax(), 0, m * r);
        FloatPointer lowB = extra == null ? null : stageIn(stageLowRank, extra.b(), extra.bOffset(), n * r);
        float scale = extra == null ? 0f : extra.scale();
        int nb = rowsPerBlock(n, k);
        int blocks = (n + nb - 1) / nb;
        perThread(task -> {
            Scratch s = scratch[task];
            for (int blk = task; blk < blocks; blk += threads) {
                int r0 = blk * nb;
                int rc = Math.min(nb, n - r0);
                FloatPointer wb = s.dequantize(w, r0, rc);
                FloatPointer yView = new FloatPointer(ys).position(r0);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, rc, k, 1f, xs, k, wb, k, 0f, yView, n);
                if (extra != null) {
                    FloatPointer bRows = new FloatPointer(lowB).position((long) r0 * r);
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, rc, r, scale, axs, r, bRows, r, 1f, yView, n);
                }
            }
        });
        copyOut(ys, y, 0, m * n);
        if (bias != null) {
            for (int i = 0; i < m; i++) {
                int off = i * n;
                for (int j = 0; j < n; j++) {
                    y[off + j] += bias[j];
                }
            }
        }
    }

    private void smallLinearForward(float[] y, float[] x, int m, WeightMatrix w, float[] bias) {
        int n = w.rows();
        int k = w.cols();
        int blocks = (n + SMALL_BLOCK_ROWS - 1) / SMALL_BLOCK_ROWS;
        perThread(task -> {
            Scratch s = scratch[task];
            for (int blk = task; blk < blocks; blk += threads) {
                int r0 = blk * SMALL_BLOCK_ROWS;
                int rc = Math.min(SMALL_BLOCK_ROWS, n - r0);
                float[] rows = s.dequantizeToJava(w, r0, rc);
                for (int r = 0; r < rc; r++) {
                    float b = bias == null ? 0f : bias[r0 + r];
                    for (int i = 0; i < m; i++) {
                        y[i * n + r0 + r] = dot(x, i * k, rows, r * k, k) + b;
                    }
                }
            }
        });
    }

    /** Four independent accumulators so the JIT can overlap the multiply-adds. */
    private static float dot(float[] a, int aOff, float[] b, int bOff, int len) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int j = 0;
        for (; j + 3 < len; j += 4) {
            s0 += a[aOff + j] * b[bOff + j];
            s1 += a[aOff + j + 1] * b[bOff + j + 1];
            s2 += a[aOff + j + 2] * b[bOff + j + 2];
            s3 += a[aOff + j + 3] * b[bOff + j + 3];
        }
        for (; j < len; j++) {
            s0 += a[aOff + j] * b[bOff + j];
        }
        return (s0 + s1) + (s2 + s3);
    }

    @Override
    public synchronized void linearBackward(float[] dx, float[] dy, int m, WeightMatrix w) {
        int n = w.rows();
        int k = w.cols();
        FloatPointer dys = stageIn(stageA, dy, 0, m * n);
        int nb = rowsPerBlock(n, k);
        int blocks = (n + nb - 1) / nb;
        int used = Math.min(threads, blocks);
        perThread(task -> {
            if (task >= used) {
                return;
            }
            Scratch s = scratch[task];
            FloatPointer acc = s.acc.ensure((long) m * k);
            org.bytedeco.javacpp.Pointer.memset(acc, 0, (long) m * k * Float.BYTES); // not sscal(0): it keeps NaNs
            for (int blk = task; blk < blocks; blk += used) {
                int r0 = blk * nb;
                int rc = Math.min(nb, n - r0);
                FloatPointer wb = s.dequantize(w, r0, rc);
                FloatPointer dyView = new FloatPointer(dys).position(r0);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, k, rc, 1f, dyView, n, wb, k, 1f, acc, k);
            }
        });
        // Sum the per-thread partial products into dx (each thread covered a disjoint set of weight rows) in native
        // memory: dx += acc_0, += acc_1, ... in thread order, as float adds (saxpy with alpha 1), with no Java-side copy
        // of the partials. Every thread sums one range of elements: the same additions in the same order as one thread.
        FloatPointer dxs = stageC.ensure((long) m * k);
        inRanges(m * k, (from, to) -> {
            FloatPointer part = new FloatPointer(dxs).position(from);
            part.put(dx, from, to - from);
            for (int t = 0; t < used; t++) {
                cblas_saxpy(to - from, 1f, new FloatPointer(scratch[t].acc.pointer).position(from), 1, part, 1);
            }
            part.get(dx, from, to - from);
        });
    }

    /** True when matrices of [m, n] with row stride ldc at these offsets are dense and lie end to end (in any order). */
    static boolean tilesSpan(int[] offsets, int m, int n, int ldc) {
        if (ldc != n) {
            return false;
        }
        int[] sorted = offsets.clone();
        java.util.Arrays.sort(sorted);
        for (int i = 1; i < sorted.length; i++) {
            if (sorted[i] - sorted[i - 1] != m * n) {
                return false;
            }
        }
        return true;
    }

    /** Start of thread {@code task}'s share of {@code total} elements, cut on multiples of 16 floats (64 bytes). */
    private int rangeStart(int total, int task) {
        if (task >= threads) {
            return total;
        }
        long per = ((long) total + threads - 1) / threads;
        per = (per + 15) & ~15L;
        return (int) Math.min(total, per * task);
    }

    /** Copies src[from, from + n) to the start of buffer (spread over the threads when large). */
    private FloatPointer stageIn(NativeBuffer buffer, float[] src, int from, int n) {
        FloatPointer p = buffer.ensure(Math.max(1, n));
        inRanges(n, (a, b) -> new FloatPointer(p).position(a).put(src, from + a, b - a));
        return p.position(0);
    }

    /** Copies the first n floats of native memory to dst[from, from + n) (spread over the threads when large). */
    private void copyOut(FloatPointer p, float[] dst, int from, int n) {
        inRanges(n, (a, b) -> new FloatPointer(p).position(a).get(dst, from + a, b - a));
    }

    private interface Range {
        void run(int from, int to);
    }

    /**
     * Runs {@code body} over [0, n) cut into one range per thread when n is large, else once on the caller: staging
     * copies and the partial-sum reduction are memory-bound work that would otherwise run on the calling thread alone
     * while the helpers wait for it. Each element is in exactly one range, so results do not depend on the cut.
     */
    private void inRanges(int n, Range body) {
        if (n <= 0) {
            return;
        }
        if (n < PARALLEL_COPY_FLOATS || threads == 1) {
            body.run(0, n);
            return;
        }
        perThread(task -> {
            int a = rangeStart(n, task);
            int b = rangeStart(n, task + 1);
            if (b > a) {
                body.run(a, b);
            }
        });
    }

    /** Below this many floats (256 KiB) a copy is not worth a hand-off to the helpers. */
    private static final int PARALLEL_COPY_FLOATS = 1 << 16;

    @Override
    public synchronized void sgemmBatched(boolean transA, boolean transB, int m, int n, int k, float alpha,
                                          float[] a, int[] aOff, int lda, float[] b, int[] bOff, int ldb,
                                          float beta, float[] c, int[] cOff, int ldc) {
        int count = aOff.length;
        if (count == 0 || m == 0 || n == 0) {
            return;
        }
        // Stage only the span the products touch: operands may be slices of large arrays (LoRA factors inside the
        // whole adapter's parameters, one chunk of tokens), and copying whole arrays would cost more than the product.
        int[] aSpan = Backend.batchSpan(aOff, transA ? k : m, transA ? m : k, lda);
        int[] bSpan = Backend.batchSpan(bOff, transB ? n : k, transB ? k : n, ldb);
        int[] cSpan = Backend.batchSpan(cOff, m, n, ldc);
        FloatPointer as = stageIn(stageA, a, aSpan[0], aSpan[1] - aSpan[0]);
        FloatPointer bs = stageIn(stageB, b, bSpan[0], bSpan[1] - bSpan[0]);
        // C's span is copied in unless the products overwrite all of it (beta 0, pieces tiling the span without gaps,
        // as attention's [heads, tq, tk] scores do): otherwise it holds values that must survive
        FloatPointer cs = beta == 0f && tilesSpan(cOff, m, n, ldc) ? stageC.ensure(cSpan[1] - cSpan[0])
                : stageIn(stageC, c, cSpan[0], cSpan[1] - cSpan[0]);
        int ta = transA ? CblasTrans : CblasNoTrans;
        int tb = transB ? CblasTrans : CblasNoTrans;
        parallelFor(count, i -> cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha,
                new FloatPointer(as).position(aOff[i] - aSpan[0]), lda,
                new FloatPointer(bs).position(bOff[i] - bSpan[0]), ldb, beta,
                new FloatPointer(cs).position(cOff[i] - cSpan[0]), ldc));
        copyOut(cs, c, cSpan[0], cSpan[1] - cSpan[0]);
    }

    /**
     * Plain OpenBLAS sgemm throughput on this machine: {@code C[m,n] = A[m,k]·B[n,k]ᵀ} with OpenBLAS's own threading
     * set to {@code blasThreads}, best of {@code repeats} runs, in GFLOP/s. The baseline the benchmarks compare against.
     */
    public static synchronized double sgemmGflops(int m, int n, int k, int blasThreads, int repeats) {
        try (FloatPointer a = new FloatPointer((long) m * k); FloatPointer b = new FloatPointer((long) n * k);
             FloatPointer c = new FloatPointer((long) m * n)) {
            java.util.SplittableRandom rnd = new java.util.SplittableRandom(1);
            float[] tmp = new float[Math.max(m, n) * k];
            for (int i = 0; i < tmp.length; i++) {
                tmp[i] = (float) (rnd.nextDouble() - 0.5);
            }
            a.put(tmp, 0, m * k);
            b.put(tmp, 0, n * k);
            openblas_nolapack.blas_set_num_threads(blasThreads);
            try {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1f, a, k, b, k, 0f, c, n); // warm-up
                long best = Long.MAX_VALUE;
                for (int r = 0; r < repeats; r++) {
                    long t0 = System.nanoTime();
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1f, a, k, b, k, 0f, c, n);
                    best = Math.min(best, System.nanoTime() - t0);
                }
                return 2.0 * m * n * k / best;
            } finally {
                openblas_nolapack.blas_set_num_threads(1);
            }
        }
    }

    @Override
    public void close() {
        gang.close();
        for (Scratch s : scratch) {
            s.close();
        }
        stageA.close();
        stageB.close();
        stageLowRank.close();
        stageC.close();
    }

    /** A native buffer that grows on demand and is reused between calls. */
    private static final class NativeBuffer implements AutoCloseable {
        FloatPointer pointer;
        long capacity;

        FloatPointer ensure(long n) {
            if (n > capacity) {
                if (pointer != null) {
                    pointer.close();
                }
                capacity = Math.max(n, capacity + capacity / 2);
                pointer = new FloatPointer(capacity);
            }
            return pointer.position(0);
        }

        @Override
        public void close() {
            if (pointer != null) {
                pointer.close();
                pointer = null;
                capacity = 0;
            }
        }
    }

    /** Per-thread scratch: one dequantized block of weight rows (Java and native copies) and a gradient accumulator. */
    private static final class Scratch implements AutoCloseable {
        /** Floats dequantized into the Java scratch per copy to native memory (64 KiB: within a core's L2). */
        static final int STAGE_FLOATS = 1 << 14;

        float[] rows = new float[0];
        final NativeBuffer block = new NativeBuffer();
        final NativeBuffer acc = new NativeBuffer();

        /**
         * Rows [r0, r0 + rc) dequantized into the native block for sgemm. They pass through a Java scratch a few rows
         * at a time: a scratch of about {@link #STAGE_FLOATS} stays in the core's cache, so the copy into native memory
         * reads cache instead of a megabyte-sized array dequantization just wrote out.
         */
        FloatPointer dequantize(WeightMatrix w, int r0, int rc) {
            int cols = w.cols();
            FloatPointer out = block.ensure((long) rc * cols);
            int step = Math.max(1, Math.min(rc, STAGE_FLOATS / Math.max(1, cols)));
            for (int r = 0; r < rc; r += step) {
                int n = Math.min(step, rc - r);
                dequantizeToJava(w, r0 + r, n);
                out.position((long) r * cols).put(rows, 0, n * cols);
            }
            return out.position(0);
        }

        float[] dequantizeToJava(WeightMatrix w, int r0, int rc) {
            int n = rc * w.cols();
            if (rows.length < n) {
                rows = new float[n];
            }
            w.dequantizeRows(r0, rc, rows, 0);
            return rows;
        }

        @Override
        public void close() {
            block.close();
            acc.close();
        }
    }
}
