package io.qlorastream.engine.kernels;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class FastExpTest {

    @Test
    void agreesWithMathExpToAboutOneFloatUlpOverTheNormalRange() {
        SplittableRandom rnd = new SplittableRandom(7);
        int n = 2_000_003; // not a multiple of the block: the last block is short
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rnd.nextDouble() * 175.3 - 87.3); // [-87.3, 88]
        }
        float[] y = new float[n];
        FastExp.exp(x, 0, 1f, 0f, y, 0, n);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            double exact = Math.exp(x[i]);
            worst = Math.max(worst, Math.abs(y[i] - exact) / exact);
        }
        assertThat(worst).isLessThan(1.5e-7);
    }

    @Test
    void scaleAndShiftMakeSoftmaxAndSigmoidArgumentsInPlace() {
        float[] a = {3f, 1f, -2f, 0.5f, 7f};
        float[] expected = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            expected[i] = (float) Math.exp(a[i] - 7f);
        }
        float[] inPlace = a.clone();
        FastExp.exp(inPlace, 0, 1f, -7f, inPlace, 0, a.length);
        for (int i = 0; i < a.length; i++) {
            assertThat((double) inPlace[i]).as("exp(a[%d] - max)", i).isCloseTo(expected[i], org.assertj.core.data.Percentage.withPercentage(2e-5));
        }
        assertThat(inPlace[4]).isEqualTo(1f); // exp(0) exactly

        // offsets on both sides, scale -1 (sigmoid's e^-g); elements outside the range are untouched
        float[] dst = new float[8];
        java.util.Arrays.fill(dst, 42f);
        FastExp.exp(a, 1, -1f, 0f, dst, 3, 3);
        assertThat(dst[2]).isEqualTo(42f);
        assertThat(dst[6]).isEqualTo(42f);
        assertThat((double) dst[3]).isCloseTo(Math.exp(-1), org.assertj.core.data.Percentage.withPercentage(2e-5));
        assertThat((double) dst[4]).isCloseTo(Math.exp(2), org.assertj.core.data.Percentage.withPercentage(2e-5));
        assertThat((double) dst[5]).isCloseTo(Math.exp(-0.5), org.assertj.core.data.Percentage.withPercentage(2e-5));
    }

    @Test
    void outsideTheRangeResultsSaturateAndNaNStaysNaN() {
        float[] x = {-1000f, -88.5f, -87.9f, -87.3f, 88f, 100f, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN};
        float[] y = new float[x.length];
        FastExp.exp(x, 0, 1f, 0f, y, 0, x.length);
        // exact values under 1.2e-38 (subnormal) flush to 0
        assertThat(y[0]).isEqualTo(0f);
        assertThat(y[1]).isEqualTo(0f);
        assertThat(y[2]).isEqualTo(0f);
        assertThat((double) y[3]).isCloseTo(Math.exp(-87.3f), org.assertj.core.data.Percentage.withPercentage(1e-3));
        float e88 = y[4];
        assertThat((double) e88).isCloseTo(Math.exp(88), org.assertj.core.data.Percentage.withPercentage(2e-5));
        assertThat(y[5]).isEqualTo(e88);
        assertThat(y[6]).isEqualTo(0f);
        assertThat(y[7]).isEqualTo(e88);
        assertThat(y[8]).isNaN();
    }

    @Test
    void sumAddsEveryElementOfTheRange() {
        float[] a = new float[1003];
        double expected = 0;
        for (int i = 0; i < a.length; i++) {
            a[i] = i * 0.25f - 3f;
            if (i >= 2 && i < 2 + 999) {
                expected += a[i];
            }
        }
        assertThat(FastExp.sum(a, 2, 999)).isEqualTo(expected, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(FastExp.sum(a, 5, 0)).isZero();
        assertThat(FastExp.sum(a, 5, 3)).isEqualTo((double) a[5] + a[6] + a[7]);
    }
}
