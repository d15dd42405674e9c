package io.qlorastream.engine.kernels;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class FastExpTest {

    @Test
    void agreesWithMathExpToAboutOneFloatUlpOverTheNormalRange() {
        SplittableRandom rnd = new SplittableRandom(7);
        double worst = 0;
        for (int i = 0; i < 2_000_000; i++) {
            float x = (float) (rnd.nextDouble() * 175.3 - 87.3); // [-87.3, 88]
            double exact = Math.exp(x);
            worst = Math.max(worst, Math.abs(FastExp.exp(x) - exact) / exact);
        }
        assertThat(worst).isLessThan(1.5e-7);
        // the softmaxes' usual arguments (score − max ≤ 0) and the exact points
        assertThat(FastExp.exp(0f)).isEqualTo(1f);
        assertThat((double) FastExp.exp(-1f)).isCloseTo(Math.exp(-1), org.assertj.core.data.Percentage.withPercentage(1e-5));
    }

    @Test
    void outsideTheNormalRangeItIsMathExp() {
        for (float x : new float[]{-1000f, -100f, -87.5f, 88.5f, 100f, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY}) {
            assertThat(FastExp.exp(x)).as("exp(%s)", x).isEqualTo((float) Math.exp(x));
        }
        assertThat(FastExp.exp(Float.NaN)).isNaN();
    }
}
