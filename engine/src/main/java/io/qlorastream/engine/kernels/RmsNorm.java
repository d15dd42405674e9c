package io.qlorastream.engine.kernels;

import io.qlorastream.engine.compute.Backend;

/** RMSNorm as transformers computes it in fp32: {@code y = x · rsqrt(mean(x²) + eps) · w}. */
public final class RmsNorm {
    private RmsNorm() {
    }

    /** x, out: [n, c]; w: [c]; rstd: [n] receives the per-row {@code 1/sqrt(mean(x²)+eps)} for the backward. */
    public static void forward(Backend be, float[] out, float[] rstd, float[] x, float[] w, int n, int c, double eps) {
        be.parallelFor(n, i -> {
            int off = i * c;
            double ss = 0;
            for (int j = 0; j < c; j++) {
                ss += (double) x[off + j] * x[off + j];
            }
            float r = (float) (1.0 / Math.sqrt(ss / c + eps));
            rstd[i] = r;
            for (int j = 0; j < c; j++) {
                out[off + j] = x[off + j] * r * w[j];
            }
        });
    }

    /**
     * {@code dx += dL/dx}; {@code dw += dL/dw} unless dw is null (norm weights are frozen in QLoRA).
     * With y_j = x_j r w_j, r = (mean(x²)+eps)^-½: dx_i = r w_i dy_i − r³/c · x_i · Σ_j dy_j w_j x_j.
     */
    public static void backward(Backend be, float[] dx, float[] dw, float[] dout, float[] x, float[] w, float[] rstd,
                                int n, int c) {
        be.parallelFor(n, i -> {
            int off = i * c;
            float r = rstd[i];
            double dot = 0;
            for (int j = 0; j < c; j++) {
                dot += (double) dout[off + j] * w[j] * x[off + j];
            }
            float k = (float) (dot * r * r * r / c);
            for (int j = 0; j < c; j++) {
                dx[off + j] += r * w[j] * dout[off + j] - k * x[off + j];
            }
        });
        if (dw != null) {
            for (int i = 0; i < n; i++) {
                int off = i * c;
                float r = rstd[i];
                for (int j = 0; j < c; j++) {
                    dw[j] += dout[off + j] * x[off + j] * r;
                }
            }
        }
    }
}
