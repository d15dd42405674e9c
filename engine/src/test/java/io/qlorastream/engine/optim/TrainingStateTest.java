package io.qlorastream.engine.optim;

import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.config.Projection;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.lora.LoraDropout;
import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.engine.lora.Rng;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TrainingStateTest {
    @TempDir
    Path tmp;

    static final LlamaConfig MODEL = new LlamaConfig("LlamaForCausalLM", "llama", 100, 24, 40, 2, 4, 2, 6, 1e-5, 10000.0,
            null, 128, false, false, false, false, 1, List.of(2), "float32");
    static final LoraConfig LORA = LoraConfig.qloraDefaults().withR(4);
    static final LrSchedule SCHEDULE = new LrSchedule(LrSchedule.Kind.COSINE, 1e-2, 3, 20);

    /** A training run on synthetic gradients: pull towards a fixed target plus noise from a saved generator. */
    static final class Run {
        LoraAdapter adapter;
        AdamW optimizer;
        Rng data;
        LoraDropout dropout;
        long step;

        static Run fresh() {
            Run r = new Run();
            r.adapter = LoraAdapter.initialize(LORA, MODEL, 17);
            r.optimizer = new AdamW(new AdamW.Config(0.9, 0.999, 1e-8, 0.01), r.adapter.parameterCount());
            r.data = new Rng(99);
            r.dropout = new LoraDropout(LORA.dropout(), 5);
            return r;
        }

        static Run resumed(TrainingState s) {
            Run r = new Run();
            r.adapter = s.adapter;
            r.optimizer = s.optimizer;
            r.data = Rng.fromState(s.rngStates.get("data"));
            r.dropout = new LoraDropout(LORA.dropout(), 5);
            r.dropout.restore(s.dropoutCounter);
            r.step = s.step;
            return r;
        }

        void steps(int n) {
            for (int s = 0; s < n; s++) {
                adapter.zeroGrads();
                float[] p = adapter.params;
                for (int i = 0; i < p.length; i++) {
                    float target = (float) Math.sin(i * 0.37);
                    float noise = (float) (data.nextDouble() - 0.5) * 0.2f;
                    boolean kept = dropout.keeps(dropout.key(0, Projection.Q), i); // dropout state must resume too
                    adapter.grads[i] = (p[i] - target) * (kept ? 1f : 0.5f) + noise;
                }
                dropout.nextMicroBatch();
                GradClip.clip(adapter.grads, GradClip.QLORA_MAX_NORM);
                optimizer.step(p, adapter.grads, SCHEDULE.lr(step));
                step++;
            }
        }

        TrainingState state() {
            return new TrainingState(adapter, optimizer, step, dropout.counter(), Map.of("data", data.state()),
                    Map.of("epoch", "1", "cursor", "42"));
        }
    }

    @Test
    void saveThenLoadRestoresEveryBit() throws IOException {
        Run run = Run.fresh();
        run.steps(4);
        Path dir = tmp.resolve("state");
        run.state().save(dir, "base-model");
        TrainingState s = TrainingState.load(dir, MODEL);
        assertThat(s.adapter.params).isEqualTo(run.adapter.params);
        assertThat(s.adapter.config).isEqualTo(LORA);
        assertThat(s.optimizer.expAvg()).isEqualTo(run.optimizer.expAvg());
        assertThat(s.optimizer.expAvgSq()).isEqualTo(run.optimizer.expAvgSq());
        assertThat(s.optimizer.stepCount()).isEqualTo(4);
        assertThat(s.optimizer.config).isEqualTo(run.optimizer.config);
        assertThat(s.step).isEqualTo(4);
        assertThat(s.dropoutCounter).isEqualTo(4);
        assertThat(s.rngStates.get("data")).isEqualTo(run.data.state());
        assertThat(s.extra).containsEntry("epoch", "1").containsEntry("cursor", "42");
        // the directory is also a plain PEFT adapter
        assertThat(PeftAdapter.load(dir, MODEL).params).isEqualTo(run.adapter.params);
    }

    @Test
    void resumedRunEndsBitIdenticalToAnUninterruptedOne() throws IOException {
        Run straight = Run.fresh();
        straight.steps(20);

        Run first = Run.fresh();
        first.steps(7);
        Path dir = tmp.resolve("resume");
        first.state().save(dir, "base-model");
        first.steps(2); // work after the save is lost when the process dies
        Run second = Run.resumed(TrainingState.load(dir, MODEL));
        second.steps(13);

        assertThat(second.step).isEqualTo(20);
        assertThat(second.adapter.params).isEqualTo(straight.adapter.params);
        assertThat(second.optimizer.expAvg()).isEqualTo(straight.optimizer.expAvg());
        assertThat(second.optimizer.expAvgSq()).isEqualTo(straight.optimizer.expAvgSq());
        assertThat(second.data.state()).isEqualTo(straight.data.state());
        // and training did move the weights (the comparison is not between two untouched arrays)
        assertThat(straight.adapter.params).isNotEqualTo(LoraAdapter.initialize(LORA, MODEL, 17).params);
    }

    @Test
    void saveReplacesAPreviousStateAndLeavesNoTemporaries() throws IOException {
        Run run = Run.fresh();
        Path dir = tmp.resolve("state");
        run.steps(1);
        run.state().save(dir, "b");
        run.steps(1);
        run.state().save(dir, "b");
        assertThat(TrainingState.load(dir, MODEL).step).isEqualTo(2);
        try (Stream<Path> files = Files.list(tmp)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("state");
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder(
                    "adapter_config.json", "adapter_model.safetensors", "optimizer.safetensors", "training_state.json");
        }
    }

    @Test
    void aSaveInterruptedBetweenItsRenamesFallsBackToThePreviousState() throws IOException {
        Run run = Run.fresh();
        run.steps(3);
        Path dir = tmp.resolve("state");
        run.state().save(dir, "b");
        Files.move(dir, tmp.resolve("state.old")); // the crash window: old moved aside, new not yet in place
        TrainingState s = TrainingState.load(dir, MODEL);
        assertThat(s.step).isEqualTo(3);
        assertThat(s.adapter.params).isEqualTo(run.adapter.params);
    }

    @Test
    void missingOrMismatchedStateIsNamed() throws IOException {
        assertThatThrownBy(() -> TrainingState.load(tmp.resolve("none"), MODEL)).hasMessageContaining("training_state.json");
        Run run = Run.fresh();
        Path dir = tmp.resolve("state");
        run.state().save(dir, "b");
        Files.writeString(dir.resolve("training_state.json"), "{\"format_version\": 99}");
        assertThatThrownBy(() -> TrainingState.load(dir, MODEL)).hasMessageContaining("format_version 99");
    }
}
