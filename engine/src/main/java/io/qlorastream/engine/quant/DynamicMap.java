package io.qlorastream.engine.quant;

import java.util.Arrays;

/**
 * bitsandbytes' signed 8-bit dynamic quantization map, {@code create_dynamic_map(signed=True)}: for i in 0..6,
 * the 2^i mid-points of {@code torch.linspace(0.1, 1, 2^i + 1)} (float32) scaled by 10^(i-6), positive and
 * negative, plus 0 and 1.0, sorted: 256 float32 values. The double
 * quantization of NF4 absmax uses it, and its 8-bit quantizer ({@link #quantize}) is bitsandbytes' binary search.
 */
public final class DynamicMap {
    private DynamicMap() {
    }

    private static final float[] SIGNED = build();

    /** A copy of the 256 values, ascending. */
    public static float[] signed() {
        return SIGNED.clone();
    }

    static float[] signedShared() {
        return SIGNED;
    }

    /**
     * The linspace points are correctly rounded float32 values; each mid-point times its power of ten is computed
     * in double and rounded once to float32. A published dump of bitsandbytes' table agrees with this value for
     * value, while replaying float32 arithmetic step by step does not (38 of the 128 positive entries differ in
     * the last bit).
     */
    private static float[] build() {
        int maxExponentBits = 7;
        float[] data = new float[256];
        int n = 0;
        for (int i = 0; i < maxExponentBits; i++) {
            int fractionItems = (1 << i) + 1;
            double scale = Math.pow(10, -(maxExponentBits - 1) + i);
            for (int j = 0; j + 1 < fractionItems; j++) {
                float lo = (float) (0.1 + 0.9 * j / (fractionItems - 1));       // float32 linspace points
                float hi = (float) (0.1 + 0.9 * (j + 1) / (fractionItems - 1));
                float v = (float) (scale * (((double) lo + hi) / 2));            // mid-point and scale, rounded once
                data[n++] = v;
                data[n++] = -v;
            }
        }
        data[n++] = 0f;
        data[n++] = 1.0f;
        if (n != 256) {
            throw new AssertionError("dynamic map has " + n + " values");
        }
        Arrays.sort(data);
        return data;
    }

    /**
     * The index of {@code x} (expected in [-1, 1]) in a sorted 256-entry {@code code}, as bitsandbytes'
     * {@code dQuantize<0>} finds it: a 7-step binary search from pivot 127, then the nearer of the two neighbours
     * (a tie goes to the pivot).
     */
    public static int quantize(float[] code, float x) {
        int pivot = 127;
        int upperPivot = 255;
        int lowerPivot = 0;
        float lower = -1.0f;
        float upper = 1.0f;
        float val = code[pivot];
        for (int i = 64; i > 0; i >>= 1) {
            if (x > val) {
                lowerPivot = pivot;
                lower = val;
                pivot += i;
            } else {
                upperPivot = pivot;
                upper = val;
                pivot -= i;
            }
            val = code[pivot];
        }
        if (upperPivot == 255) {
            upper = code[upperPivot];
        }
        if (lowerPivot == 0) {
            lower = code[lowerPivot];
        }
        if (x > val) {
            float midpoint = (upper + val) * 0.5f;
            return x > midpoint ? upperPivot : pivot;
        } else {
            float midpoint = (lower + val) * 0.5f;
            return x < midpoint ? lowerPivot : pivot;
        }
    }
}
