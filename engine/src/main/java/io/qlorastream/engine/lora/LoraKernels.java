package io.qlorastream.engine.lora;

import io.qlorastream.engine.compute.Backend;

/**
 * {@link LoraOps}' products routed through the backend's sgemm, for the model's projections. Each product is cut into
 * independent pieces of a fixed size ({@link #CHUNK} rows of the output: tokens, or rows of dB, or columns of dA) that
 * {@code sgemmBatched} spreads over the threads; the cut does not depend on the thread count, so neither do the results
 * and training stays bit-reproducible. A and B are copied out of the flat adapter array first (module-sized, cheap next
 * to the products) because the CPU backend stages whole operand arrays; the weight gradients are computed into
 * module-sized scratch and then added to the adapter's gradients.
 */
public final class LoraKernels {
    /** Output rows (or columns) per sgemm piece. */
    static final int CHUNK = 32;

    private LoraKernels() {
    }

    /** Calls {@code call(m, starts)} for the full pieces of {@code total} (size CHUNK) and once for the remainder. */
    private interface Pieces {
        void call(int size, int[] starts);
    }

    private static void pieces(int total, Pieces p) {
        int full = total / CHUNK;
        if (full > 0) {
            int[] starts = new int[full];
            for (int i = 0; i < full; i++) {
                starts[i] = i * CHUNK;
            }
            p.call(CHUNK, starts);
        }
        if (total % CHUNK != 0) {
            p.call(total % CHUNK, new int[]{full * CHUNK});
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
        int in = m.in, out = m.out, r = m.r;
        float[] a = java.util.Arrays.copyOfRange(m.params, m.aOffset, m.aOffset + r * in);
        float[] b = java.util.Arrays.copyOfRange(m.params, m.bOffset, m.bOffset + out * r);
        pieces(tokens, (mt, t0) -> {
            int[] zero = new int[t0.length];
            be.sgemmBatched(false, true, mt, r, in, 1f, x, times(t0, in), in, a, zero, in, 0f, ax, times(t0, r), r);
            be.sgemmBatched(false, true, mt, out, r, m.scaling, ax, times(t0, r), r, b, zero, r, 1f, y, times(t0, out), out);
        });
    }

    /**
     * Adds {@code dB += (dy·scaling)ᵀ ax}, {@code dA += daxᵀ x} with {@code dax = (dy·scaling) B}, and, when dx is not
     * null, {@code dx += dax A}. dax: [tokens, r] scratch.
     */
    public static void backward(Backend be, LoraModule m, float[] x, int tokens, float[] ax, float[] dy, float[] dx,
                                float[] dax) {
        int in = m.in, out = m.out, r = m.r;
        float[] a = java.util.Arrays.copyOfRange(m.params, m.aOffset, m.aOffset + r * in);
        float[] b = java.util.Arrays.copyOfRange(m.params, m.bOffset, m.bOffset + out * r);
        pieces(tokens, (mt, t0) -> be.sgemmBatched(false, false, mt, r, out, m.scaling, dy, times(t0, out), out,
                b, new int[t0.length], r, 0f, dax, times(t0, r), r));
        float[] gb = new float[out * r];
        pieces(out, (mo, o0) -> be.sgemmBatched(true, false, mo, r, tokens, m.scaling, dy, o0, out,
                ax, new int[o0.length], r, 0f, gb, times(o0, r), r));
        float[] ga = new float[r * in];
        pieces(in, (ni, i0) -> be.sgemmBatched(true, false, r, ni, tokens, 1f, dax, new int[i0.length], r,
                x, i0, in, 0f, ga, i0, in));
        float[] g = m.grads;
        for (int i = 0; i < ga.length; i++) {
            g[m.aOffset + i] += ga[i];
        }
        for (int i = 0; i < gb.length; i++) {
            g[m.bOffset + i] += gb[i];
        }
        if (dx != null) {
            pieces(tokens, (mt, t0) -> be.sgemmBatched(false, false, mt, in, r, 1f, dax, times(t0, r), r,
                    a, new int[t0.length], in, 1f, dx, times(t0, in), in));
        }
    }
}
