package io.qlorastream.engine.model;

import io.qlorastream.engine.compute.Backend;
import io.qlorastream.engine.compute.LowRank;

/** A frozen projection {@code y = x·Wᵀ + b}; the product runs on the backend, W dequantized block by block. */
public final class LinearLayer {
    private LinearLayer() {
    }

    /** x [m, in] → y [m, out] (overwritten). */
    public static void forward(Backend be, float[] y, float[] x, int m, Linear layer) {
        be.linearForward(y, x, m, layer.weight, layer.bias);
    }

    /** x [m, in] → y [m, out] (overwritten) plus a low-rank term (a LoRA adapter's B product), in one backend call. */
    public static void forward(Backend be, float[] y, float[] x, int m, Linear layer, LowRank extra) {
        be.linearForward(y, x, m, layer.weight, layer.bias, extra);
    }

    /** {@code dx [m, in] += dy [m, out] · W}. The weight and bias are frozen: no gradient for them. */
    public static void backward(Backend be, float[] dx, float[] dy, int m, Linear layer) {
        be.linearBackward(dx, dy, m, layer.weight);
    }
}
