package io.qlorastream.engine.kernels;

import io.qlorastream.engine.tensor.WeightMatrix;

/** Token embedding lookup. */
public final class Embedding {
    private Embedding() {
    }

    /** {@code out[i, :] = wte[tokens[i], :]} for i in [0, n); out is [n, C]. */
    public static void forward(float[] out, int[] tokens, int n, WeightMatrix wte) {
        int c = wte.cols();
        for (int i = 0; i < n; i++) {
            int tok = tokens[i];
            if (tok < 0 || tok >= wte.rows()) {
                throw new IllegalArgumentException("token id " + tok + " outside the vocabulary [0, " + wte.rows() + ")");
            }
            wte.dequantizeRows(tok, 1, out, i * c);
        }
    }

    /** Gradient of a trainable embedding table: {@code dwte[tokens[i], :] += dout[i, :]}. */
    public static void backward(float[] dwte, float[] dout, int[] tokens, int n, int c) {
        for (int i = 0; i < n; i++) {
            int base = tokens[i] * c;
            for (int j = 0; j < c; j++) {
                dwte[base + j] += dout[i * c + j];
            }
        }
    }
}
