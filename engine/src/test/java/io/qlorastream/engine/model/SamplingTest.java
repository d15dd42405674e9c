package io.qlorastream.engine.model;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class SamplingTest {
    @Test
    void temperatureOneSamplesTheSoftmax() {
        float[] logits = {0f, (float) Math.log(2), -30f};
        Sampling.Picker p = new Sampling(1.0, 1.0, 1).picker();
        int ones = 0, n = 20000;
        for (int i = 0; i < n; i++) {
            int t = p.pick(logits, 3);
            assertThat(t).isIn(0, 1);
            ones += t == 1 ? 1 : 0;
        }
        assertThat(ones / (double) n).isCloseTo(2.0 / 3, within(0.02));
    }

    @Test
    void topPKeepsOnlyTheSmallestNucleus() {
        float[] logits = {0f, (float) Math.log(2), 0.5f};
        Sampling.Picker p = new Sampling(1.0, 0.3, 2).picker();
        for (int i = 0; i < 200; i++) {
            assertThat(p.pick(logits, 3)).isEqualTo(1);
        }
    }

    @Test
    void greedyTakesTheArgmaxAndBadSettingsAreRejected() {
        assertThat(Sampling.greedy().picker().pick(new float[]{1f, 3f, 2f}, 3)).isEqualTo(1);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Sampling(0.7, 0, 1)).hasMessageContaining("top-p");
    }
}
