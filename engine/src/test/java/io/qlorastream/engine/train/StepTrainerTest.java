package io.qlorastream.engine.train;

import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.data.TokenizedExample;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.model.BaseModel;
import io.qlorastream.engine.model.ModelFingerprint;
import io.qlorastream.engine.model.ModelMaker;
import io.qlorastream.engine.model.ModelShape;
import io.qlorastream.engine.optim.AdamW;
import io.qlorastream.engine.optim.LrSchedule;
import io.qlorastream.engine.optim.TrainingState;
import io.qlorastream.engine.tensor.DType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The per-step API equals the fixed-list Trainer bit for bit, lanes do not interfere, and a saved lane resumes exactly. */
class StepTrainerTest {
    @TempDir
    static Path dir;
    static BaseModel small;
    static List<TokenizedExample> examples;
    static final long SEED = 7;

    @BeforeAll
    static void model() throws Exception {
        Path m = dir.resolve("small");
        ModelMaker.write(m, ModelShape.llama(32, 2, 4, 2, 48, 64), 5, DType.F32);
        small = BaseModel.open(m, () -> new CpuBackend(2));
        examples = RandomExamples.of(8, 64, 9);
    }

    @AfterAll
    static void close() {
        small.close();
    }

    static LoraConfig lora() {
        return new LoraConfig(4, 8, 0.1, LoraConfig.ALL_TARGETS, false);
    }

    static Trainer.Settings trainerSettings(long steps) {
        return new Trainer.Settings(2, 2, 64, steps, 0, SEED, LrSchedule.Kind.COSINE, 1e-2, 1, 0,
                AdamW.Config.torchDefaults(), 1.0, 0, true);
    }

    static StepTrainer.Settings stepSettings(long steps) {
        return new StepTrainer.Settings(64, new LrSchedule(LrSchedule.Kind.COSINE, 1e-2, 1, steps), AdamW.Config.torchDefaults(), 1.0, true);
    }

    @Test
    void stepsEqualTheFixedListTrainerBitForBit() throws Exception {
        long steps = 5;
        LoraAdapter viaTrainer = LoraAdapter.initialize(lora(), small.config(), SEED);
        Trainer trainer = new Trainer(small.model(), viaTrainer, examples, trainerSettings(steps));
        trainer.run(null, null);

        Trainer order = new Trainer(small.model(), LoraAdapter.initialize(lora(), small.config(), SEED), examples,
                trainerSettings(steps));
        StepTrainer st = new StepTrainer(small.model(), stepSettings(steps));
        StepTrainer.Lane lane = StepTrainer.Lane.fresh(LoraAdapter.initialize(lora(), small.config(), SEED), AdamW.Config.torchDefaults(), SEED);
        long drawn = 0;
        for (int s = 0; s < steps; s++) {
            List<List<TokenizedExample>> micro = new ArrayList<>();
            for (int m = 0; m < 2; m++) {
                List<TokenizedExample> rows = new ArrayList<>();
                for (int b = 0; b < 2; b++) rows.add(examples.get(order.exampleAt(drawn++)));
                micro.add(rows);
            }
            StepTrainer.StepResult r = st.step(lane, micro);
            assertThat(r.step()).isEqualTo(s + 1);
            assertThat(r.loss()).isFinite();
        }
        assertThat(lane.adapter.params).isEqualTo(viaTrainer.params);
        assertThat(lane.optimizer.expAvgSq()).isEqualTo(trainer.optimizer().expAvgSq());
    }

    @Test
    void interleavedLanesEqualSeparateRunsAndASavedLaneResumesExactly() throws Exception {
        StepTrainer st = new StepTrainer(small.model(), stepSettings(10));
        StepTrainer.Lane a = StepTrainer.Lane.fresh(LoraAdapter.initialize(lora(), small.config(), SEED), AdamW.Config.qlora(), SEED);
        StepTrainer.Lane b = StepTrainer.Lane.fresh(LoraAdapter.initialize(lora(), small.config(), SEED + 1), AdamW.Config.qlora(), SEED + 1);
        for (int s = 0; s < 4; s++) {
            st.step(a, List.of(examples.subList(s, s + 2)));
            st.step(b, List.of(examples.subList(7 - s - 1, 7 - s + 1)));
        }
        StepTrainer.Lane alone = StepTrainer.Lane.fresh(LoraAdapter.initialize(lora(), small.config(), SEED), AdamW.Config.qlora(), SEED);
        StepTrainer.Lane resumed = null;
        for (int s = 0; s < 4; s++) {
            if (s == 2) {
                alone.state(Map.of(), Map.of("k", "v")).save(dir.resolve("lane"), "m");
                resumed = StepTrainer.Lane.restore(TrainingState.load(dir.resolve("lane"), small.config()), SEED);
            }
            st.step(alone, List.of(examples.subList(s, s + 2)));
            if (resumed != null) st.step(resumed, List.of(examples.subList(s, s + 2)));
        }
        assertThat(alone.adapter.params).isEqualTo(a.adapter.params);
        assertThat(resumed.adapter.params).isEqualTo(a.adapter.params);
        assertThat(resumed.step()).isEqualTo(4);
        assertThat(b.adapter.params).isNotEqualTo(a.adapter.params);
    }

    @Test
    void fingerprintIsSha256OfConfigThenWeights() throws Exception {
        Path m = dir.resolve("small");
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        md.update(Files.readAllBytes(m.resolve("config.json")));
        md.update(Files.readAllBytes(m.resolve("model.safetensors")));
        assertThat(ModelFingerprint.sha256(m)).isEqualTo(HexFormat.of().formatHex(md.digest()));
    }
}
