package io.qlorastream.engine.optim;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class GradClipTest {
    @Test
    void clipsToMaxNormWithTorchFormula() {
        float[] g = {3f, -4f, 12f}; // norm 13
        float[] before = g.clone();
        double norm = GradClip.clip(g, GradClip.QLORA_MAX_NORM);
        assertThat(norm).isCloseTo(13.0, within(1e-12));
        double coef = 0.3 / (13.0 + 1e-6);
        for (int i = 0; i < g.length; i++) {
            assertThat((double) g[i]).isCloseTo(before[i] * coef, within(1e-7));
        }
        assertThat(GradClip.globalNorm(g)).isCloseTo(0.3, within(1e-6));
    }

    @Test
    void smallGradientsAndDisabledClippingAreUntouched() {
        float[] g = {0.1f, 0.2f};
        assertThat(GradClip.clip(g, 0.3)).isCloseTo(Math.sqrt((double) 0.1f * 0.1f + (double) 0.2f * 0.2f), within(1e-9));
        assertThat(g).containsExactly(0.1f, 0.2f);
        float[] big = {30f, 40f};
        assertThat(GradClip.clip(big, 0)).isCloseTo(50, within(1e-9));
        assertThat(big).containsExactly(30f, 40f);
    }
}
