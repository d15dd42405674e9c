package io.qlorastream.engine.lora;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LoraConfigTest {
    @Test
    void qloraDefaults() {
        LoraConfig c = LoraConfig.qloraDefaults();
        assertThat(c.r()).isEqualTo(64);
        assertThat(c.alpha()).isEqualTo(16.0);
        assertThat(c.dropout()).isEqualTo(0.05);
        assertThat(c.targetModules()).containsExactly("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
        assertThat(c.useRslora()).isFalse();
        assertThat(c.scaling()).isEqualTo(16.0 / 64);
    }

    @Test
    void rsloraScalesBySquareRootOfRank() {
        LoraConfig c = LoraConfig.qloraDefaults().withR(16).withAlpha(8);
        assertThat(c.scaling()).isEqualTo(8.0 / 16);
        assertThat(c.withRslora(true).scaling()).isEqualTo(8.0 / Math.sqrt(16));
    }

    @Test
    void targetsAreCanonicalOrderedAndDeduplicated() {
        assertThat(LoraConfig.parseTargets("down, q,v_proj,q")).containsExactly("q_proj", "v_proj", "down_proj");
        assertThat(LoraConfig.parseTargets("all-linear")).isEqualTo(LoraConfig.ALL_TARGETS);
        assertThat(LoraConfig.qloraDefaults().withTargets(List.of("up", "gate")).targetModules()).containsExactly("gate_proj", "up_proj");
        assertThatThrownBy(() -> LoraConfig.parseTargets("q,lm_head"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'lm_head'");
    }

    @Test
    void badSettingsAreRejectedWithTheirValue() {
        assertThatThrownBy(() -> LoraConfig.qloraDefaults().withR(0)).hasMessageContaining("rank r").hasMessageContaining("0");
        assertThatThrownBy(() -> LoraConfig.qloraDefaults().withDropout(1.0)).hasMessageContaining("lora_dropout");
        assertThatThrownBy(() -> LoraConfig.qloraDefaults().withAlpha(-1)).hasMessageContaining("lora_alpha");
        assertThatThrownBy(() -> LoraConfig.qloraDefaults().withTargets(List.of())).hasMessageContaining("empty");
    }
}
