package io.qlorastream.engine.lora;

import io.qlorastream.engine.config.Projection;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class LoraDropoutTest {
    static boolean[] mask(LoraDropout d, long key, int n) {
        boolean[] m = new boolean[n];
        for (int i = 0; i < n; i++) {
            m[i] = d.keeps(key, i);
        }
        return m;
    }

    @Test
    void dropsAboutTheRequestedFraction() {
        LoraDropout d = new LoraDropout(0.05, 1);
        int n = 200_000;
        int dropped = 0;
        for (boolean keep : mask(d, d.key(0, Projection.Q), n)) {
            dropped += keep ? 0 : 1;
        }
        double sd = Math.sqrt(n * 0.05 * 0.95);
        assertThat((double) dropped).isBetween(n * 0.05 - 5 * sd, n * 0.05 + 5 * sd);
        assertThat(d.dropThreshold()).isEqualTo(3277); // 0.05 · 65536 = 3276.8
    }

    @Test
    void theFourElementsOfOneHashAreDroppedIndependently() {
        // p = 0.5: if the four 16-bit lanes of a hash were correlated, pairs within a group would agree far from half
        LoraDropout d = new LoraDropout(0.5, 11);
        long key = d.key(3, Projection.UP);
        int groups = 50_000;
        int[] agree = new int[3];
        for (int g = 0; g < groups; g++) {
            boolean first = d.keeps(key, 4L * g);
            for (int e = 1; e < 4; e++) {
                agree[e - 1] += d.keeps(key, 4L * g + e) == first ? 1 : 0;
            }
        }
        double sd = Math.sqrt(groups * 0.25);
        for (int a : agree) {
            assertThat((double) a).isBetween(groups * 0.5 - 5 * sd, groups * 0.5 + 5 * sd);
        }
    }

    @Test
    void masksDependOnSeedCounterLayerAndProjectionAndReplayAfterRestore() {
        LoraDropout d = new LoraDropout(0.5, 7);
        boolean[] q0 = mask(d, d.key(0, Projection.Q), 256);
        assertThat(mask(d, d.key(0, Projection.Q), 256)).isEqualTo(q0); // recomputation sees the same mask
        assertThat(mask(d, d.key(0, Projection.K), 256)).isNotEqualTo(q0);
        assertThat(mask(d, d.key(1, Projection.Q), 256)).isNotEqualTo(q0);
        assertThat(mask(new LoraDropout(0.5, 8), new LoraDropout(0.5, 8).key(0, Projection.Q), 256)).isNotEqualTo(q0);
        long saved = d.counter();
        d.nextMicroBatch();
        boolean[] next = mask(d, d.key(0, Projection.Q), 256);
        assertThat(next).isNotEqualTo(q0);
        LoraDropout resumed = new LoraDropout(0.5, 7);
        resumed.restore(saved + 1);
        assertThat(mask(resumed, resumed.key(0, Projection.Q), 256)).isEqualTo(next);
    }

    @Test
    void zeroProbabilityKeepsEverythingUnscaled() {
        LoraDropout d = new LoraDropout(0, 3);
        float[] x = {1.5f, -2f, 0.25f};
        float[] out = new float[3];
        d.forward(d.key(0, Projection.O), x, 0, 3, out, 0);
        assertThat(out).isEqualTo(x);
        assertThat(d.isIdentity()).isTrue();
    }

    @Test
    void aPrecomputedBitMaskAppliesTheSameDecisionsInParallel() {
        LoraDropout d = new LoraDropout(0.3, 17);
        d.nextMicroBatch();
        long key = d.key(2, Projection.DOWN);
        int n = 40_003; // several parallel chunks, a last word of 64 only partly used, a last group of 4 cut short
        Rng r = new Rng(1);
        float[] x = new float[n + 5];
        float[] dOut = new float[n + 5];
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextFloat() - 0.5f;
            dOut[i] = r.nextFloat() - 0.5f;
        }
        try (io.qlorastream.engine.compute.CpuBackend be = new io.qlorastream.engine.compute.CpuBackend(3)) {
            long[] bits = d.mask(be, key, n, null);
            assertThat(bits).hasSize((n + 63) / 64);
            assertThat(bits[bits.length - 1] >>> (n & 63)).as("no bits past element n").isZero();
            for (int i = 0; i < n; i++) {
                assertThat((bits[i >>> 6] >>> i & 1L) != 0).as("element %d", i).isEqualTo(d.keeps(key, i));
            }
            float[] expected = new float[n + 2];
            float[] actual = new float[n + 2];
            d.forward(key, x, 5, n, expected, 2);
            d.forward(be, bits, x, 5, n, actual, 2);
            assertThat(actual).isEqualTo(expected);
            float[] dxExpected = x.clone();
            float[] dxActual = x.clone();
            d.backward(key, dOut, 3, n, dxExpected, 1);
            d.backward(be, bits, dOut, 3, n, dxActual, 1);
            assertThat(dxActual).isEqualTo(dxExpected);
            assertThat(d.mask(be, key, n, bits)).as("reused when long enough").isSameAs(bits);
        }
    }
}
