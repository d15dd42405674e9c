package io.qlorastream.engine.optim;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** Expected values are the formulas of transformers' get_{constant,linear,cosine}_schedule_with_warmup. */
class LrScheduleTest {
    @Test
    void warmupRisesLinearlyFromZero() {
        for (LrSchedule.Kind kind : LrSchedule.Kind.values()) {
            LrSchedule s = new LrSchedule(kind, 1e-3, 10, 110);
            for (int step = 0; step < 10; step++) {
                assertThat(s.lr(step)).as("%s step %d", kind, step).isCloseTo(1e-3 * step / 10.0, within(1e-15));
            }
            assertThat(s.lr(10)).isCloseTo(1e-3, within(1e-15));
        }
    }

    @Test
    void constantLinearAndCosineAfterWarmup() {
        LrSchedule constant = new LrSchedule(LrSchedule.Kind.CONSTANT, 2e-4, 3, 0);
        assertThat(constant.lr(1_000_000)).isEqualTo(2e-4);
        LrSchedule linear = new LrSchedule(LrSchedule.Kind.LINEAR, 1.0, 10, 110);
        LrSchedule cosine = new LrSchedule(LrSchedule.Kind.COSINE, 1.0, 10, 110);
        for (int step = 10; step <= 120; step++) {
            double progress = (step - 10) / 100.0;
            assertThat(linear.lr(step)).as("linear %d", step).isCloseTo(Math.max(0, (110.0 - step) / 100.0), within(1e-12));
            assertThat(cosine.lr(step)).as("cosine %d", step).isCloseTo(Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress))), within(1e-12));
        }
        assertThat(linear.lr(60)).isCloseTo(0.5, within(1e-12));
        assertThat(cosine.lr(60)).isCloseTo(0.5, within(1e-12));
        assertThat(cosine.lr(110)).isCloseTo(0.0, within(1e-12));
    }

    @Test
    void warmupStepsOrRatioAsHuggingFaceChooses() {
        assertThat(LrSchedule.warmupSteps(0, 0.03, 1000)).isEqualTo(30);
        assertThat(LrSchedule.warmupSteps(0, 0.03, 101)).isEqualTo((int) Math.ceil(101 * 0.03));
        assertThat(LrSchedule.warmupSteps(7, 0.5, 1000)).isEqualTo(7);
        LrSchedule q = LrSchedule.qlora(200);
        assertThat(q.kind()).isEqualTo(LrSchedule.Kind.CONSTANT);
        assertThat(q.peakLr()).isEqualTo(2e-4);
        assertThat(q.warmupSteps()).isEqualTo(6);
    }

    @Test
    void badInputIsNamed() {
        assertThatThrownBy(() -> LrSchedule.Kind.parse("step")).hasMessageContaining("'step'");
        assertThatThrownBy(() -> new LrSchedule(LrSchedule.Kind.COSINE, 1e-3, 0, 0)).hasMessageContaining("cosine");
        assertThatThrownBy(() -> LrSchedule.warmupSteps(0, 1.5, 10)).hasMessageContaining("1.5");
        assertThat(LrSchedule.Kind.parse("Cosine")).isEqualTo(LrSchedule.Kind.COSINE);
    }
}
