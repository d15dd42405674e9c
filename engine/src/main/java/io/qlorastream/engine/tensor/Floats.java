package io.qlorastream.engine.tensor;

/**
 * Conversions between float32 and the 16-bit float formats of checkpoints. Written by hand because Java 17 has no
 * {@code Float.float16ToFloat} (added in Java 20) and no bfloat16 at all.
 */
public final class Floats {
    private Floats() {
    }

    /** Every IEEE half value as float32, indexed by its 16 bits: decoding is one table load. */
    private static final float[] HALF_TO_FLOAT = new float[1 << 16];

    static {
        for (int h = 0; h < (1 << 16); h++) {
            HALF_TO_FLOAT[h] = decodeHalf(h);
        }
    }

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /** float32 → bfloat16 bits with round-to-nearest-even, NaN kept quiet (as torch's {@code .to(torch.bfloat16)}). */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int rounded = bits + 0x7fff + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    public static float f16ToFloat(short bits) {
        return HALF_TO_FLOAT[bits & 0xffff];
    }

    /** float32 → IEEE half bits with round-to-nearest-even, overflow to infinity, subnormals kept. */
    public static short floatToF16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs > 0x7f800000) {
            return (short) (sign | 0x7e00 | ((abs >>> 13) & 0x3ff));
        }
        if (abs >= 0x477ff000) { // rounds to >= 65520: infinity
            return (short) (sign | 0x7c00);
        }
        if (abs < 0x38800000) { // below the smallest normal half (2^-14): subnormal or zero
            if (abs < 0x33000000) { // below half of the smallest subnormal (2^-25): rounds to zero
                return (short) sign;
            }
            int exp = abs >>> 23;
            int mant = (abs & 0x7fffff) | 0x800000;
            // value = mant * 2^(exp-150); half subnormal bits = round(value / 2^-24) = round(mant >> (126 - exp))
            int shift = 126 - exp;
            int half = mant >>> shift;
            int rem = mant & ((1 << shift) - 1);
            int halfway = 1 << (shift - 1);
            if (rem > halfway || (rem == halfway && (half & 1) != 0)) {
                half++;
            }
            return (short) (sign | half);
        }
        int rebased = abs - 0x38000000; // exponent bias 127 → 15
        int half = rebased >>> 13;
        int rem = rebased & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (half & 1) != 0)) {
            half++;
        }
        return (short) (sign | half);
    }

    private static float decodeHalf(int h) {
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }
}
