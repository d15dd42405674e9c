package io.qlorastream.engine.kernels;

import io.qlorastream.engine.compute.Backend;
import io.qlorastream.engine.model.Linear;

/** A frozen projection {@code y = x·Wᵀ + b}; the product runs on the backend, W dequantized block by block. */
public final class LinearLayer {
    private LinearLayer() {
    }

    /** x [m, in] → y [m, out] (overwritten). */
    public static void forward(Backend be, float[] y, float[] x, int m, Linear layer) {
        be.linearForward(y, x, m, layer.weight, layer.bias);
    }

    /** {@code dx [m, in] += dy [m, out] · W}. The weight and bias are frozen: no gradient for them. */
    public static void backward(Backend be, float[] dx, float[] dy, int m, Linear layer) {
        be.linearBackward(dx, dy, m, layer.weight);
    }
}
