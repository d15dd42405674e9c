package io.qlorastream.engine.tensor;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class FloatsTest {

    @Test
    void bf16KnownValuesAndRoundToNearestEven() {
        assertThat(Floats.floatToBf16(1.0f)).isEqualTo((short) 0x3f80);
        assertThat(Floats.floatToBf16(-2.0f)).isEqualTo((short) 0xc000);
        assertThat(Floats.bf16ToFloat((short) 0x3f80)).isEqualTo(1.0f);
        // 1 + 2^-8 lies exactly between bf16 1.0 (even) and 1 + 2^-7: ties go to even
        assertThat(Floats.floatToBf16(1.0f + 0x1p-8f)).isEqualTo((short) 0x3f80);
        // 1 + 3·2^-8 lies between 1 + 2^-7 (odd mantissa) and 1 + 2^-6: ties go to the even one above
        assertThat(Floats.floatToBf16(1.0f + 3 * 0x1p-8f)).isEqualTo((short) 0x3f82);
        assertThat(Floats.floatToBf16(1.0f + 0x1p-8f + 0x1p-20f)).isEqualTo((short) 0x3f81);
        assertThat(Float.isNaN(Floats.bf16ToFloat(Floats.floatToBf16(Float.NaN)))).isTrue();
    }

    @Test
    void everyBf16ValueRoundTrips() {
        for (int b = 0; b < 65536; b++) {
            float f = Floats.bf16ToFloat((short) b);
            if (!Float.isNaN(f)) {
                assertThat(Floats.floatToBf16(f) & 0xffff).as("bf16 %04x", b).isEqualTo(b);
            }
        }
    }

    @Test
    void everyHalfValueRoundTrips() {
        for (int h = 0; h < 65536; h++) {
            float f = Floats.f16ToFloat((short) h);
            if (!Float.isNaN(f)) {
                assertThat(Floats.floatToF16(f) & 0xffff).as("half %04x", h).isEqualTo(h);
            }
        }
    }

    @Test
    void halfKnownValuesRoundingAndLimits() {
        assertThat(Floats.f16ToFloat((short) 0x3c00)).isEqualTo(1.0f);
        assertThat(Floats.f16ToFloat((short) 0x0001)).isEqualTo(0x1p-24f);
        assertThat(Floats.f16ToFloat((short) 0x7bff)).isEqualTo(65504f);
        assertThat(Floats.floatToF16(65520f)).isEqualTo((short) 0x7c00); // rounds up to infinity
        assertThat(Floats.floatToF16(65519f)).isEqualTo((short) 0x7bff);
        assertThat(Floats.floatToF16(0x1p-25f)).isEqualTo((short) 0); // tie between 0 and the smallest subnormal → 0
        assertThat(Floats.floatToF16(0x1.8p-25f)).isEqualTo((short) 1);
        assertThat(Floats.floatToF16(1.0f + 0x1p-11f)).isEqualTo((short) 0x3c00); // tie → even
        assertThat(Floats.floatToF16(1.0f + 3 * 0x1p-11f)).isEqualTo((short) 0x3c02);
        assertThat(Floats.floatToF16(-0.0f)).isEqualTo((short) 0x8000);
    }
}
