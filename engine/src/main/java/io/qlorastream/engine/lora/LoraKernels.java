package io.qlorastream.engine.lora;

import io.qlorastream.engine.compute.Backend;
import io.qlorastream.engine.compute.LowRank;

/**
 * {@link LoraOps}' products routed through the backend's sgemm, for the model's projections. Each product is cut into
 * independent pieces of a fixed size ({@link #CHUNK} rows of the output: tokens, or rows of dB, or columns of dA) that
 * {@code sgemmBatched} spreads over the threads; the cut does not depend on the thread count, so neither do the results
 * and training stays bit-reproducible. A and B are read in place in the flat adapter array; the weight gradients are
 * computed into module-sized scratch and then added to the adapter's gradients.
 */
public final class LoraKernels {
    /**
     * Output rows (or columns) per sgemm piece, at most: 256 amortizes sgemm's packing of the shared operand (A, B)
     * better than 128 did (bench train, base at seq 512: the LoRA products about 7 % faster).
     */
    static final int CHUNK = 256;

    private LoraKernels() {
    }

    /** Calls {@code call(m, starts)} for the full pieces of {@code total} and once for the remainder. */
    private interface Pieces {
        void call(int size, int[] starts);
    }

    /**
     * Cuts {@code total} into an even number of pieces (when more than one) of at most {@link #CHUNK}, a multiple of 16
     * each but the last: 768 becomes 4 × 192 rather than 3 × 256, which would leave one of two threads idle for a third of
     * the product. The cut depends on the total alone, never on the thread count.
     */
    static int pieceSize(int total) {
        if (total <= 0) {
            return CHUNK;
        }
        int count = (total + CHUNK - 1) / CHUNK;
        if (count > 1 && count % 2 != 0) {
            count++;
        }
        int size = (total + count - 1) / count;
        return Math.min(CHUNK, (size + 15) & ~15);
    }

    private static void pieces(int total, Pieces p) {
        int size = pieceSize(total);
        int full = total / size;
        if (full > 0) {
            int[] starts = new int[full];
            for (int i = 0; i < full; i++) {
                starts[i] = i * size;
            }
            p.call(size, starts);
        }
        if (total % size != 0) {
            p.call(total % size, new int[]{full * size});
        }
    }

    private static int[] times(int[] starts, int stride) {
        int[] o = new int[starts.length];
        for (int i = 0; i < starts.length; i++) {
            o[i] = starts[i] * stride;
        }
        return o;
    }

    /** {@code ax = x Aᵀ}, {@code y += (ax Bᵀ)·scaling}; x [tokens, in], ax [tokens, r], y [tokens, out]. */
    public static void forward(Backend be, LoraModule m, float[] x, int tokens, float[] ax, float[] y) {
        inputProduct(be, m, x, tokens, ax);
        upProduct(m, ax).addTo(be, y, tokens, m.out);
    }

    /**
     * The B half of the forward, {@code (ax Bᵀ)·scaling}, as a term a frozen linear adds to its output
     * ({@link Backend#linearForward(float[], float[], int, io.qlorastream.engine.tensor.WeightMatrix, float[], LowRank)}).
     */
    public static LowRank upProduct(LoraModule m, float[] ax) {
        return new UpProduct(m, ax);
    }

    private record UpProduct(LoraModule m, float[] ax) implements LowRank {
        @Override
        public int r() {
            return m.r;
        }

        @Override
        public float[] b() {
            return m.params;
        }

        @Override
        public int bOffset() {
            return m.bOffset;
        }

        @Override
        public float scale() {
            return m.scaling;
        }

        @Override
        public void addTo(Backend be, float[] y, int tokens, int out) {
            int r = m.r;
            // B is read in place inside the adapter's flat array (the backend stages only the span a product reads)
            pieces(tokens, (mt, t0) -> be.sgemmBatched(false, true, mt, out, r, m.scaling, ax, times(t0, r), r, m.params,
                    fill(t0.length, m.bOffset), r, 1f, y, times(t0, out), out));
        }
    }

    /** {@code ax = x Aᵀ} alone: the part of {@link #forward} that {@link #backward} reads. */
    public static void inputProduct(Backend be, LoraModule m, float[] x, int tokens, float[] ax) {
        int in = m.in, r = m.r;
        pieces(tokens, (mt, t0) -> be.sgemmBatched(false, true, mt, r, in, 1f, x, times(t0, in), in, m.params,
                fill(t0.length, m.aOffset), in, 0f, ax, times(t0, r), r));
    }

    private static int[] fill(int n, int value) {
        int[] o = new int[n];
        java.util.Arrays.fill(o, value);
        return o;
    }

    /**
     * Adds {@code dB += (dy·scaling)ᵀ ax}, {@code dA += daxᵀ x} with {@code dax = (dy·scaling) B}, and, when dx is not
     * null, {@code dx += dax A}. dax: [tokens, r] scratch.
     */
    public static void backward(Backend be, LoraModule m, float[] x, int tokens, float[] ax, float[] dy, float[] dx,
                                float[] dax) {
        backward(be, m, x, tokens, ax, dy, dx, dax, null);
    }

    /**
     * {@link #backward(Backend, LoraModule, float[], int, float[], float[], float[], float[])} with a caller's scratch
     * for the module's weight gradients (grown when null or short; the grown array is returned for reuse), so a
     * training step allocates nothing per call.
     */
    public static float[] backward(Backend be, LoraModule m, float[] x, int tokens, float[] ax, float[] dy, float[] dx,
                                   float[] dax, float[] scratch) {
        int in = m.in, out = m.out, r = m.r;
        float[] p = m.params;
        pieces(tokens, (mt, t0) -> be.sgemmBatched(false, false, mt, r, out, m.scaling, dy, times(t0, out), out,
                p, fill(t0.length, m.bOffset), r, 0f, dax, times(t0, r), r));
        float[] gw = scratch == null || scratch.length < Math.max(out * r, r * in) ? new float[Math.max(out * r, r * in)] : scratch;
        float[] g = m.grads;
        // dB first, added to the adapter's gradients, then dA in the same scratch (the products write every element)
        pieces(out, (mo, o0) -> be.sgemmBatched(true, false, mo, r, tokens, m.scaling, dy, o0, out,
                ax, new int[o0.length], r, 0f, gw, times(o0, r), r));
        for (int i = 0; i < out * r; i++) {
            g[m.bOffset + i] += gw[i];
        }
        pieces(in, (ni, i0) -> be.sgemmBatched(true, false, r, ni, tokens, 1f, dax, new int[i0.length], r,
                x, i0, in, 0f, gw, i0, in));
        for (int i = 0; i < r * in; i++) {
            g[m.aOffset + i] += gw[i];
        }
        if (dx != null) {
            inputGradient(be, m, tokens, dax, dx);
        }
        return gw;
    }

    /** {@code dx += dax A}: the LoRA path's input gradient from the dax a backward with dx = null left in its scratch. */
    public static void inputGradient(Backend be, LoraModule m, int tokens, float[] dax, float[] dx) {
        int in = m.in, r = m.r;
        pieces(tokens, (mt, t0) -> be.sgemmBatched(false, false, mt, in, r, 1f, dax, times(t0, r), r,
                m.params, fill(t0.length, m.aOffset), in, 1f, dx, times(t0, in), in));
    }
}
