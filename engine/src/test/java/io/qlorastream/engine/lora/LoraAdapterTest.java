package io.qlorastream.engine.lora;

import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.config.Projection;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class LoraAdapterTest {
    final LlamaConfig model = TestModels.small();

    @Test
    void modulesTileTheFlatArraysWithPeftShapes() {
        LoraAdapter a = LoraAdapter.zeros(LoraConfig.qloraDefaults().withR(4), model);
        assertThat(a.modules()).hasSize(3 * 7);
        int offset = 0;
        for (LoraModule m : a.modules()) {
            assertThat(m.aOffset).isEqualTo(offset);
            assertThat(m.bOffset).isEqualTo(offset + m.r * m.in);
            offset += m.size();
        }
        assertThat(a.parameterCount()).isEqualTo(offset).isEqualTo(a.grads.length);
        LoraModule k = a.module(1, Projection.K);
        assertThat(new int[]{k.r, k.in, k.out}).containsExactly(4, 24, 12);
        LoraModule o = a.module(2, Projection.O);
        assertThat(new int[]{o.in, o.out}).containsExactly(24, 24);
        LoraModule down = a.module(0, Projection.DOWN);
        assertThat(new int[]{down.in, down.out}).containsExactly(40, 24);
        // per layer: q 4·(24+24), k 4·(24+12), v 4·(24+12), o 4·(24+24), gate/up 4·(24+40), down 4·(40+24)
        assertThat(a.parameterCount()).isEqualTo(3 * 4 * (48 + 36 + 36 + 48 + 64 * 3));
    }

    @Test
    void onlyTargetedProjectionsHaveModules() {
        LoraAdapter a = LoraAdapter.zeros(LoraConfig.qloraDefaults().withR(2).withTargets(List.of("q", "v")), model);
        assertThat(a.modules()).extracting(m -> m.projection).containsExactly(Projection.Q, Projection.V, Projection.Q, Projection.V, Projection.Q, Projection.V);
        assertThat(a.module(0, Projection.K)).isNull();
        assertThat(a.module(0, Projection.V)).isNotNull();
    }

    @Test
    void peftInitIsUniformWithinOneOverSqrtFanInAndBZero() {
        LoraAdapter a = LoraAdapter.initialize(LoraConfig.qloraDefaults().withR(16), model, 42);
        for (LoraModule m : a.modules()) {
            double bound = 1 / Math.sqrt(m.in);
            double sum = 0, sumSq = 0;
            int n = m.r * m.in;
            for (int i = 0; i < n; i++) {
                float v = a.params[m.aOffset + i];
                assertThat((double) Math.abs(v)).isLessThanOrEqualTo(bound);
                sum += v;
                sumSq += (double) v * v;
            }
            // U(-b, b): mean 0 (sd b/sqrt(3n)), variance b²/3
            assertThat(Math.abs(sum / n)).isLessThan(5 * bound / Math.sqrt(3.0 * n));
            assertThat(sumSq / n).isBetween(bound * bound / 3 * 0.75, bound * bound / 3 * 1.25);
            for (int i = 0; i < m.out * m.r; i++) {
                assertThat(a.params[m.bOffset + i]).isZero();
            }
        }
    }

    @Test
    void initIsDeterministicInTheSeed() {
        LoraConfig c = LoraConfig.qloraDefaults().withR(8);
        assertThat(LoraAdapter.initialize(c, model, 7).params).isEqualTo(LoraAdapter.initialize(c, model, 7).params);
        assertThat(LoraAdapter.initialize(c, model, 7).params).isNotEqualTo(LoraAdapter.initialize(c, model, 8).params);
    }
}
