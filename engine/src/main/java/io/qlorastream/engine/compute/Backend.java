package io.qlorastream.engine.compute;

import io.qlorastream.engine.tensor.WeightMatrix;

import java.util.function.IntConsumer;

/**
 * The operations whose speed matters, behind one interface so that a CUDA implementation can replace the CPU one.
 * Buffers are row-major {@code float[]} activations; frozen weights are {@link WeightMatrix} (NF4, BF16, F32) that an
 * implementation dequantizes block by block into its own scratch, never whole.
 */
public interface Backend extends AutoCloseable {

    /** Short name for logs ("cpu", "cuda"). */
    String name();

    /** Degree of parallelism used by {@link #parallelFor}. */
    int threads();

    /** Runs {@code body.accept(i)} for every i in [0, count), spread over the backend's threads; returns when all are done. */
    void parallelFor(int count, IntConsumer body);

    /**
     * Linear forward: {@code y[m, w.rows] = x[m, w.cols] · wᵀ (+ bias)}. {@code bias} may be null. Overwrites y.
     */
    void linearForward(float[] y, float[] x, int m, WeightMatrix w, float[] bias);

    /**
     * {@link #linearForward(float[], float[], int, WeightMatrix, float[])} plus a low-rank term (a LoRA adapter's B
     * product): {@code y = x · wᵀ + scale · ax · Bᵀ (+ bias)}. The default adds the term after the product; a backend
     * may fuse them (the CPU backend multiplies each block of the output twice while it is in native memory).
     */
    default void linearForward(float[] y, float[] x, int m, WeightMatrix w, float[] bias, LowRank extra) {
        linearForward(y, x, m, w, bias);
        if (extra != null) {
            extra.addTo(this, y, m, w.rows());
        }
    }

    /**
     * Linear backward to the input only (the weight is frozen): {@code dx[m, w.cols] += dy[m, w.rows] · w}.
     */
    void linearBackward(float[] dx, float[] dy, int m, WeightMatrix w);

    /**
     * A batch of independent products on plain arrays, for attention:
     * for each i, {@code C_i = alpha · op(A_i) · op(B_i) + beta · C_i} with {@code op(A_i)} [m, k] and {@code op(B_i)} [k, n],
     * where {@code A_i} starts at {@code a[aOff[i]]} with row stride lda (likewise B, C). Entries must write disjoint parts of c.
     */
    void sgemmBatched(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      float[] a, int[] aOff, int lda, float[] b, int[] bOff, int ldb,
                      float beta, float[] c, int[] cOff, int ldc);

    @Override
    void close();

    /**
     * [first, end) of the elements that row-major matrices of [rows, cols] with stride {@code ld}, one at each offset,
     * read: what a batched product must stage (a backend whose operands live elsewhere copies only this span).
     */
    static int[] batchSpan(int[] offsets, int rows, int cols, int ld) {
        int lo = Integer.MAX_VALUE;
        int hi = 0;
        long extent = rows == 0 || cols == 0 ? 0 : (long) (rows - 1) * ld + cols;
        for (int off : offsets) {
            lo = Math.min(lo, off);
            hi = (int) Math.max(hi, off + extent);
        }
        return new int[]{lo, Math.max(lo, hi)};
    }
}
