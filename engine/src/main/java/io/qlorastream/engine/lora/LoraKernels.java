package io.qlorastream.engine.lora;

import io.qlorastream.engine.compute.Backend;

/**
 * {@link LoraOps}' products spread over the backend's threads, for the model's projections. Work is split so that every
 * output element is summed by one thread in a fixed order (forward and dx by token, dB by output row, dA by rank row),
 * so results do not depend on the thread count or scheduling: training stays bit-reproducible. Not routed through
 * {@code Backend.sgemmBatched}, whose CPU implementation stages the whole operand arrays (here: the whole adapter) on
 * every call.
 */
public final class LoraKernels {
    private LoraKernels() {
    }

    /** {@code ax = x Aᵀ}, {@code y += (ax Bᵀ)·scaling}; x [tokens, in], ax [tokens, r], y [tokens, out]. */
    public static void forward(Backend be, LoraModule m, float[] x, int tokens, float[] ax, float[] y) {
        int in = m.in, out = m.out, r = m.r;
        float[] p = m.params;
        float scaling = m.scaling;
        be.parallelFor(tokens, t -> {
            int xr = t * in;
            int axr = t * r;
            for (int k = 0; k < r; k++) {
                int ar = m.aOffset + k * in;
                float s = 0f;
                for (int i = 0; i < in; i++) {
                    s += p[ar + i] * x[xr + i];
                }
                ax[axr + k] = s;
            }
            int yr = t * out;
            for (int o = 0; o < out; o++) {
                int br = m.bOffset + o * r;
                float s = 0f;
                for (int k = 0; k < r; k++) {
                    s += p[br + k] * ax[axr + k];
                }
                y[yr + o] += s * scaling;
            }
        });
    }

    /**
     * Adds {@code dB += (dy·scaling)ᵀ ax}, {@code dA += daxᵀ x} with {@code dax = (dy·scaling) B}, and, when dx is not
     * null, {@code dx += dax A}. dax: [tokens, r] scratch.
     */
    public static void backward(Backend be, LoraModule m, float[] x, int tokens, float[] ax, float[] dy, float[] dx,
                                float[] dax) {
        int in = m.in, out = m.out, r = m.r;
        float[] p = m.params;
        float[] g = m.grads;
        float scaling = m.scaling;
        be.parallelFor(tokens, t -> {
            int axr = t * r;
            java.util.Arrays.fill(dax, axr, axr + r, 0f);
            int dyr = t * out;
            for (int o = 0; o < out; o++) {
                float d = dy[dyr + o] * scaling;
                int br = m.bOffset + o * r;
                for (int k = 0; k < r; k++) {
                    dax[axr + k] += d * p[br + k];
                }
            }
        });
        be.parallelFor(out, o -> {
            int br = m.bOffset + o * r;
            for (int t = 0; t < tokens; t++) {
                float d = dy[t * out + o] * scaling;
                if (d == 0f) {
                    continue;
                }
                int axr = t * r;
                for (int k = 0; k < r; k++) {
                    g[br + k] += d * ax[axr + k];
                }
            }
        });
        be.parallelFor(r, k -> {
            int ar = m.aOffset + k * in;
            for (int t = 0; t < tokens; t++) {
                float d = dax[t * r + k];
                if (d == 0f) {
                    continue;
                }
                int xr = t * in;
                for (int i = 0; i < in; i++) {
                    g[ar + i] += d * x[xr + i];
                }
            }
        });
        if (dx != null) {
            be.parallelFor(tokens, t -> {
                int dxr = t * in;
                for (int k = 0; k < r; k++) {
                    float d = dax[t * r + k];
                    if (d == 0f) {
                        continue;
                    }
                    int ar = m.aOffset + k * in;
                    for (int i = 0; i < in; i++) {
                        dx[dxr + i] += d * p[ar + i];
                    }
                }
            });
        }
    }
}
