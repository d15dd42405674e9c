package io.qlorastream.engine.compute;

/**
 * A low-rank term a linear adds to its output: {@code scale · ax · Bᵀ}, ax [m, r] (e.g. LoRA's A·x) and B [out, r]
 * stored row-major at {@code b[bOffset...]} (LoRA's B inside an adapter's flat parameters). See
 * {@link Backend#linearForward(float[], float[], int, io.qlorastream.engine.tensor.WeightMatrix, float[], LowRank)}.
 */
public interface LowRank {
    float[] ax();

    int r();

    float[] b();

    int bOffset();

    float scale();

    /** {@code y[m, out] += scale · ax · Bᵀ} through the backend's batched products: what a backend without a fused path runs. */
    void addTo(Backend be, float[] y, int m, int out);
}
