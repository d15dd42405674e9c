package io.qlorastream.engine.kernels;

import io.qlorastream.engine.compute.Backend;

/**
 * The gated activation of the Llama MLP: {@code h = silu(gate) · up}, silu(x) = x·σ(x). σ is taken in float through
 * {@link FastExp} (tens of millions of sigmoids per training step; Math.exp's double precision bought nothing here):
 * each chunk first takes every e^−gate at once, into a per-thread scratch the size of a chunk, so the exponential
 * vectorizes.
 */
public final class SwiGlu {
    private static final int CHUNK = 1 << 14;
    private static final ThreadLocal<float[]> EXP_NEG_GATE = ThreadLocal.withInitial(() -> new float[CHUNK]);

    private SwiGlu() {
    }

    public static void forward(Backend be, float[] out, float[] gate, float[] up, int n) {
        be.parallelFor((n + CHUNK - 1) / CHUNK, c -> {
            int from = c * CHUNK;
            int len = Math.min(n, from + CHUNK) - from;
            FastExp.exp(gate, from, -1f, 0f, out, from, len);
            for (int i = from; i < from + len; i++) {
                out[i] = gate[i] / (1f + out[i]) * up[i];
            }
        });
    }

    /** The body of a backward over one chunk [from, from + len), with e^−gate of the chunk in expNegGate[0, len). */
    private interface ChunkBody {
        void run(int from, int len, float[] expNegGate);
    }

    /** Runs body over the chunks of n elements in parallel, each with its e^−gate in a per-thread scratch. */
    private static void chunks(Backend be, float[] gate, int n, ChunkBody body) {
        be.parallelFor((n + CHUNK - 1) / CHUNK, c -> {
            int from = c * CHUNK;
            int len = Math.min(n, from + CHUNK) - from;
            float[] e = EXP_NEG_GATE.get();
            FastExp.exp(gate, from, -1f, 0f, e, 0, len);
            body.run(from, len, e);
        });
    }

    /**
     * The backward written over its inputs: {@code gate[i]} becomes dL/dgate and {@code up[i]} dL/dup (the values
     * {@link #backward} adds to zeroed buffers), for a caller that no longer needs the activations; saves two
     * [tokens, intermediate] buffers.
     */
    public static void backwardInPlace(Backend be, float[] dout, float[] gate, float[] up, int n) {
        chunks(be, gate, n, (from, len, e) -> {
            for (int i = 0; i < len; i++) {
                float g = gate[from + i];
                float u = up[from + i];
                float s = 1f / (1f + e[i]);
                gate[from + i] = 0f + dout[from + i] * u * s * (1 + g * (1 - s));
                up[from + i] = 0f + dout[from + i] * g * s;
            }
        });
    }

    /** {@code dgate += dout·up·silu'(gate)}, {@code dup += dout·silu(gate)}, silu'(x) = σ(x)(1 + x(1 − σ(x))). */
    public static void backward(Backend be, float[] dgate, float[] dup, float[] dout, float[] gate, float[] up, int n) {
        chunks(be, gate, n, (from, len, e) -> {
            for (int i = 0; i < len; i++) {
                float g = gate[from + i];
                float s = 1f / (1f + e[i]);
                dgate[from + i] += dout[from + i] * up[from + i] * s * (1 + g * (1 - s));
                dup[from + i] += dout[from + i] * g * s;
            }
        });
    }
}
