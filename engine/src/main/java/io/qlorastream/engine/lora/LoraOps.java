package io.qlorastream.engine.lora;

/**
 * Forward and backward of the LoRA path of one projection over {@code tokens} rows, llm.c style: plain loops over
 * row-major arrays, fp32 throughout. PEFT computes {@code y = W x + B(A(dropout(x))) * scaling}; the frozen
 * {@code W x} and the dropout belong to the caller, these functions add the LoRA term.
 *
 * <p>Shapes: x [tokens, in] at {@code xOff}, ax [tokens, r] at 0, y and dy [tokens, out] at their offsets.
 */
public final class LoraOps {
    private LoraOps() {
    }

    /**
     * {@code ax = x Aᵀ} (kept for the backward) and {@code y += (ax Bᵀ) · scaling}. {@code x} is the LoRA input after
     * dropout.
     */
    public static void forward(LoraModule m, float[] x, int xOff, int tokens, float[] ax, float[] y, int yOff) {
        int in = m.in, out = m.out, r = m.r;
        float[] p = m.params;
        for (int t = 0; t < tokens; t++) {
            int xr = xOff + t * in;
            for (int k = 0; k < r; k++) {
                int ar = m.aOffset + k * in;
                float s = 0f;
                for (int i = 0; i < in; i++) {
                    s += p[ar + i] * x[xr + i];
                }
                ax[t * r + k] = s;
            }
            int yr = yOff + t * out;
            for (int o = 0; o < out; o++) {
                int br = m.bOffset + o * r;
                float s = 0f;
                for (int k = 0; k < r; k++) {
                    s += p[br + k] * ax[t * r + k];
                }
                y[yr + o] += s * m.scaling;
            }
        }
    }

    /**
     * Given {@code dy} (gradient of the loss w.r.t. the projection output), adds to the module's gradients
     * {@code dB += (dy·scaling)ᵀ ax} and {@code dA += dAxᵀ x} where {@code dAx = (dy·scaling) B}, and, when
     * {@code dx} is not null, adds {@code dAx A} to {@code dx} (the gradient w.r.t. the LoRA input, i.e. after
     * dropout; the caller maps it back through its dropout and sums it with the frozen path's gradient).
     *
     * @param ax      [tokens, r] as the forward computed it (saved or recomputed)
     * @param scratch at least tokens·r floats, overwritten (holds dAx)
     */
    public static void backward(LoraModule m, float[] x, int xOff, int tokens, float[] ax, float[] dy, int dyOff,
                                float[] dx, int dxOff, float[] scratch) {
        int in = m.in, out = m.out, r = m.r;
        float[] p = m.params;
        float[] g = m.grads;
        float scaling = m.scaling;
        float[] dax = scratch;
        java.util.Arrays.fill(dax, 0, tokens * r, 0f);
        for (int t = 0; t < tokens; t++) {
            int dyr = dyOff + t * out;
            int axr = t * r;
            for (int o = 0; o < out; o++) {
                float d = dy[dyr + o] * scaling;
                if (d == 0f) {
                    continue;
                }
                int br = m.bOffset + o * r;
                for (int k = 0; k < r; k++) {
                    g[br + k] += d * ax[axr + k];
                    dax[axr + k] += d * p[br + k];
                }
            }
        }
        for (int t = 0; t < tokens; t++) {
            int xr = xOff + t * in;
            for (int k = 0; k < r; k++) {
                float d = dax[t * r + k];
                if (d == 0f) {
                    continue;
                }
                int ar = m.aOffset + k * in;
                for (int i = 0; i < in; i++) {
                    g[ar + i] += d * x[xr + i];
                }
                if (dx != null) {
                    int dxr = dxOff + t * in;
                    for (int i = 0; i < in; i++) {
                        dx[dxr + i] += d * p[ar + i];
                    }
                }
            }
        }
    }
}
