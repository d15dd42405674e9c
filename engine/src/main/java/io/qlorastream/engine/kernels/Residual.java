package io.qlorastream.engine.kernels;

/** Residual connection. */
public final class Residual {
    private Residual() {
    }

    /** {@code out = a + b} over n values (out may alias a or b). */
    public static void forward(float[] out, float[] a, float[] b, int n) {
        for (int i = 0; i < n; i++) {
            out[i] = a[i] + b[i];
        }
    }

    /** {@code da += dout; db += dout}. */
    public static void backward(float[] da, float[] db, float[] dout, int n) {
        for (int i = 0; i < n; i++) {
            da[i] += dout[i];
            db[i] += dout[i];
        }
    }
}
