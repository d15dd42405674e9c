package io.qlorastream.engine.kernels;

/**
 * {@code e^x} in float precision for the softmaxes (attention, cross-entropy), which take tens of millions of
 * exponentials per training step. {@link Math#exp} is a double-precision intrinsic costing about three times this on
 * the machines we measured (`bench train`); no reachable library offers a float exp, so it is written here: Cody–Waite
 * range reduction {@code x = n·ln2 + r}, |r| ≤ ln2/2, a degree-6 polynomial for e^r (Cephes' expf coefficients), and
 * 2^n put into the exponent bits. Relative error below 1.5e-7 (about one float ulp) over the normal range, checked
 * against Math.exp in {@code FastExpTest}; outside it (results that would be subnormal or overflow, NaN, infinities)
 * it defers to Math.exp.
 */
public final class FastExp {
    private static final float LOG2E = 1.44269504088896341f;
    /** ln2 split in a high part exact in few bits and the rest, so that {@code x − n·ln2} loses nothing. */
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;

    private FastExp() {
    }

    public static float exp(float x) {
        if (!(x >= -87.3f && x <= 88f)) {
            return (float) Math.exp(x);
        }
        float fn = (float) Math.floor(x * LOG2E + 0.5f);
        int n = (int) fn;
        float r = x - fn * LN2_HI;
        r = r - fn * LN2_LO;
        float p = 1.9875691500e-4f;
        p = p * r + 1.3981999507e-3f;
        p = p * r + 8.3334519073e-3f;
        p = p * r + 4.1665795894e-2f;
        p = p * r + 1.6666665459e-1f;
        p = p * r + 5.0000001201e-1f;
        p = p * r * r + r + 1f;
        return p * Float.intBitsToFloat((n + 127) << 23);
    }
}
