package io.qlorastream.engine.lora;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RngTest {
    @Test
    void savedStateReplaysTheSameSequence() {
        Rng a = new Rng(5);
        for (int i = 0; i < 10; i++) {
            a.nextLong();
        }
        long[] state = a.state();
        long[] expected = {a.nextLong(), a.nextInt(17), Float.floatToIntBits(a.nextFloat()), Double.doubleToLongBits(a.nextDouble())};
        Rng b = Rng.fromState(state);
        assertThat(new long[]{b.nextLong(), b.nextInt(17), Float.floatToIntBits(b.nextFloat()), Double.doubleToLongBits(b.nextDouble())})
                .isEqualTo(expected);
    }

    @Test
    void nextIntStaysInRangeAndCoversIt() {
        Rng r = new Rng(9);
        int[] counts = new int[7];
        for (int i = 0; i < 70_000; i++) {
            counts[r.nextInt(7)]++;
        }
        for (int c : counts) {
            assertThat(c).isBetween(9_400, 10_600);
        }
        float f = new Rng(1).nextFloat();
        assertThat(f).isGreaterThanOrEqualTo(0f).isLessThan(1f);
    }
}
