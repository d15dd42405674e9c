package io.qlorastream.engine.quant;

import java.util.Arrays;

/**
 * bitsandbytes' signed 8-bit dynamic quantization map, {@code create_dynamic_map(signed=True)}: for i in 0..6,
 * the 2^i mid-points of {@code torch.linspace(0.1, 1, 2^i + 1)} (float32) scaled by 10^(i-6), positive and
 * negative, plus 0 and 1.0, sorted: 256 values. Built in float32 arithmetic as torch does on the CPU. The double
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

    private static float[] build() {
        int maxExponentBits = 7;
        float[] data = new float[256];
        int n = 0;
        for (int i = 0; i < maxExponentBits; i++) {
            int fractionItems = (1 << i) + 1;
            float[] boundaries = linspace(0.1f, 1.0f, fractionItems);
            float scale = (float) Math.pow(10, -(maxExponentBits - 1) + i);
            for (int j = 0; j + 1 < fractionItems; j++) {
                float mean = (boundaries[j] + boundaries[j + 1]) / 2.0f;
                data[n++] = scale * mean;
                data[n++] = -scale * mean;
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

    /** torch.linspace in float32 on the CPU: start + step·i for the first half, end − step·(steps − 1 − i) after. */
    static float[] linspace(float start, float end, int steps) {
        float[] out = new float[steps];
        if (steps == 1) {
            out[0] = start;
            return out;
        }
        float step = (end - start) / (steps - 1);
        int halfway = steps / 2;
        for (int i = 0; i < steps; i++) {
            out[i] = i < halfway ? start + step * i : end - step * (steps - i - 1);
        }
        return out;
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
