package io.qlorastream.engine.kernels;

import io.qlorastream.engine.compute.Backend;

/**
 * The gated activation of the Llama MLP: {@code h = silu(gate) · up}, silu(x) = x·σ(x). σ is taken in float through
 * {@link FastExp} (tens of millions of sigmoids per training step; Math.exp's double precision bought nothing here).
 */
public final class SwiGlu {
    private SwiGlu() {
    }

    public static void forward(Backend be, float[] out, float[] gate, float[] up, int n) {
        int chunk = 1 << 14;
        be.parallelFor((n + chunk - 1) / chunk, c -> {
            int end = Math.min(n, (c + 1) * chunk);
            for (int i = c * chunk; i < end; i++) {
                float g = gate[i];
                out[i] = g / (1f + FastExp.exp(-g)) * up[i];
            }
        });
    }

    /**
     * The backward written over its inputs: {@code gate[i]} becomes dL/dgate and {@code up[i]} dL/dup (the values
     * {@link #backward} adds to zeroed buffers), for a caller that no longer needs the activations; saves two
     * [tokens, intermediate] buffers.
     */
    public static void backwardInPlace(Backend be, float[] dout, float[] gate, float[] up, int n) {
        int chunk = 1 << 14;
        be.parallelFor((n + chunk - 1) / chunk, c -> {
            int end = Math.min(n, (c + 1) * chunk);
            for (int i = c * chunk; i < end; i++) {
                float g = gate[i];
                float u = up[i];
                float s = 1f / (1f + FastExp.exp(-g));
                gate[i] = 0f + dout[i] * u * s * (1 + g * (1 - s));
                up[i] = 0f + dout[i] * g * s;
            }
        });
    }

    /** {@code dgate += dout·up·silu'(gate)}, {@code dup += dout·silu(gate)}, silu'(x) = σ(x)(1 + x(1 − σ(x))). */
    public static void backward(Backend be, float[] dgate, float[] dup, float[] dout, float[] gate, float[] up, int n) {
        int chunk = 1 << 14;
        be.parallelFor((n + chunk - 1) / chunk, c -> {
            int end = Math.min(n, (c + 1) * chunk);
            for (int i = c * chunk; i < end; i++) {
                float g = gate[i];
                float s = 1f / (1f + FastExp.exp(-g));
                dgate[i] += dout[i] * up[i] * s * (1 + g * (1 - s));
                dup[i] += dout[i] * g * s;
            }
        });
    }
}
