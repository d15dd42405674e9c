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
        // Aᵀ [in, r] and Bᵀ·scaling [r, out]: with them both products are axpy loops over contiguous rows, which the
        // JIT vectorises (dot-product reductions over A's and B's rows it does not).
        float[] at = new float[in * r];
        for (int k = 0; k < r; k++) {
            for (int i = 0; i < in; i++) {
                at[i * r + k] = p[m.aOffset + k * in + i];
            }
        }
        float[] bt = new float[r * out];
        for (int o = 0; o < out; o++) {
            for (int k = 0; k < r; k++) {
                bt[k * out + o] = p[m.bOffset + o * r + k];
            }
        }
        float[] bax = new float[out];
        for (int t = 0; t < tokens; t++) {
            int xr = xOff + t * in;
            int axr = t * r;
            java.util.Arrays.fill(ax, axr, axr + r, 0f);
            for (int i = 0; i < in; i++) {
                float xi = x[xr + i];
                int atr = i * r;
                for (int k = 0; k < r; k++) {
                    ax[axr + k] += at[atr + k] * xi;
                }
            }
            java.util.Arrays.fill(bax, 0f);
            for (int k = 0; k < r; k++) {
                float a = ax[axr + k];
                int btr = k * out;
                for (int o = 0; o < out; o++) {
                    bax[o] += bt[btr + o] * a;
                }
            }
            int yr = yOff + t * out;
            for (int o = 0; o < out; o++) {
                y[yr + o] += bax[o] * m.scaling;
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

    /**
     * The training-time LoRA term with PEFT's dropout: {@code y += B(A(dropout(x))) · scaling}. With {@code dropout}
     * null or p = 0 (evaluation, or no dropout) it is {@link #forward(LoraModule, float[], int, int, float[], float[], int)}
     * on {@code x} itself; otherwise the dropped-out input goes to {@code xd} ([tokens, in] scratch).
     */
    public static void forward(LoraModule m, LoraDropout dropout, float[] x, int xOff, int tokens, float[] xd,
                               float[] ax, float[] y, int yOff) {
        if (dropout == null || dropout.isIdentity()) {
            forward(m, x, xOff, tokens, ax, y, yOff);
            return;
        }
        dropout.forward(dropout.key(m.layer, m.projection), x, xOff, tokens * m.in, xd, 0);
        forward(m, xd, 0, tokens, ax, y, yOff);
    }

    /**
     * Backward of {@link #forward(LoraModule, LoraDropout, float[], int, int, float[], float[], float[], int)} in the
     * same micro-batch (same dropout counter): the dropout mask is recomputed from its key, so only {@code ax} needs
     * keeping. Adds to the module's gradients and, when {@code dx} is not null, to {@code dx}.
     *
     * @param xd      [tokens, in] scratch (unused without dropout)
     * @param dxd     [tokens, in] scratch (unused without dropout or when dx is null)
     * @param scratch [tokens, r] scratch
     */
    public static void backward(LoraModule m, LoraDropout dropout, float[] x, int xOff, int tokens, float[] xd, float[] ax,
                                float[] dy, int dyOff, float[] dx, int dxOff, float[] dxd, float[] scratch) {
        if (dropout == null || dropout.isIdentity()) {
            backward(m, x, xOff, tokens, ax, dy, dyOff, dx, dxOff, scratch);
            return;
        }
        long key = dropout.key(m.layer, m.projection);
        int n = tokens * m.in;
        dropout.forward(key, x, xOff, n, xd, 0);
        if (dx == null) {
            backward(m, xd, 0, tokens, ax, dy, dyOff, null, 0, scratch);
            return;
        }
        java.util.Arrays.fill(dxd, 0, n, 0f);
        backward(m, xd, 0, tokens, ax, dy, dyOff, dxd, 0, scratch);
        dropout.backward(key, dxd, 0, n, dx, dxOff);
    }
}
