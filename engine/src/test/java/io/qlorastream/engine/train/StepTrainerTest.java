package io.qlorastream.engine.train;

import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.train.engine.CpuTrainingEngine;
import io.qlorastream.engine.train.engine.TrainingEngine;
import io.qlorastream.engine.data.TokenizedExample;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.lora.LoraDropout;
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

    /** Wraps the CPU engine and records the copies a GPU-resident engine would make: "load" and "store". */
    static TrainingEngine.Factory recording(List<String> copies) {
        return (model, checkpointing) -> new TrainingEngine() {
            final CpuTrainingEngine cpu = new CpuTrainingEngine(model, checkpointing);

            @Override
            public void load(LoraAdapter adapter, AdamW optimizer, LoraDropout dropout) {
                copies.add("load");
                cpu.load(adapter, optimizer, dropout);
            }

            @Override
            public void zeroGrads() {
                cpu.zeroGrads();
            }

            @Override
            public double accumulate(int[] tokens, int[] mask, int[] targets, int batch, int seqLen, float tokenWeight) {
                return cpu.accumulate(tokens, mask, targets, batch, seqLen, tokenWeight);
            }

            @Override
            public double clipAndStep(double maxGradNorm, double lr) {
                copies.add("step");
                return cpu.clipAndStep(maxGradNorm, lr);
            }

            @Override
            public void store() {
                copies.add("store");
                cpu.store();
            }

            @Override
            public void close() {
                copies.add("close");
                cpu.close();
            }
        };
    }

    @Test
    void theFixedListTrainerKeepsItsLaneInTheEngineWhileEachLaneStepCopiesBothWays() throws Exception {
        List<String> copies = new ArrayList<>();
        Trainer trainer = new Trainer(small.model(), LoraAdapter.initialize(lora(), small.config(), SEED), examples,
                trainerSettings(3), recording(copies));
        trainer.run(null, null);
        assertThat(copies).containsExactly("load", "step", "step", "step", "store");
        trainer.saveState(dir.resolve("resident"), "m");
        TrainingState saved = TrainingState.load(dir.resolve("resident"), small.config());
        trainer.restore(saved);
        copies.clear();
        trainer.sync();
        trainer.close();
        // a restored state is loaded by the next step, never overwritten by what the engine held before
        assertThat(copies).containsExactly("close");

        copies.clear();
        StepTrainer st = new StepTrainer(small.model(), stepSettings(10), recording(copies));
        StepTrainer.Lane a = StepTrainer.Lane.fresh(LoraAdapter.initialize(lora(), small.config(), SEED), AdamW.Config.qlora(), SEED);
        st.step(a, List.of(examples.subList(0, 2)));
        st.step(a, List.of(examples.subList(2, 4)));
        assertThat(copies).containsExactly("load", "step", "store", "load", "step", "store");
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
