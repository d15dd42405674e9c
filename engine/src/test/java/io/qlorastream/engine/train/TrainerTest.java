package io.qlorastream.engine.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.data.ExampleEncoder;
import io.qlorastream.engine.data.PromptResponse;
import io.qlorastream.engine.data.TokenizedExample;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.engine.lora.Rng;
import io.qlorastream.engine.model.BaseModel;
import io.qlorastream.engine.model.Generator;
import io.qlorastream.engine.model.LlamaModel;
import io.qlorastream.engine.model.ModelMaker;
import io.qlorastream.engine.model.ModelShape;
import io.qlorastream.engine.model.Sampling;
import io.qlorastream.engine.optim.AdamW;
import io.qlorastream.engine.optim.LrSchedule;
import io.qlorastream.engine.optim.TrainingState;
import io.qlorastream.engine.tensor.DType;
import io.qlorastream.engine.tokenizer.ByteLevelBpeWriter;
import io.qlorastream.engine.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The training loop on small real NF4 models written by ModelMaker and opened as a BaseModel. */
class TrainerTest {
    @TempDir
    static Path dir;
    static BaseModel small;
    static List<TokenizedExample> examples;

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

    static Trainer.Settings settings(int batch, int accum, long steps, long seed) {
        return new Trainer.Settings(batch, accum, 64, steps, 0, seed, LrSchedule.Kind.COSINE, 1e-2, 1, 0,
                AdamW.Config.torchDefaults(), 1.0, 0, true);
    }

    static LoraAdapter adapter(double dropout, long seed) {
        LoraAdapter a = LoraAdapter.initialize(new LoraConfig(4, 8, dropout, LoraConfig.ALL_TARGETS, false), small.config(), seed);
        Rng r = new Rng(seed + 1);
        for (int i = 0; i < a.params.length; i++) {
            a.params[i] = (r.nextFloat() - 0.5f) * 0.2f; // non-zero B too, so every gradient path is exercised
        }
        return a;
    }

    @Test
    void kAccumulatedMicroBatchesEqualOneBatchKTimesLarger() {
        LoraAdapter one = adapter(0, 3);
        LoraAdapter four = adapter(0, 3);
        Trainer.Settings noClip = new Trainer.Settings(4, 1, 64, 1, 0, 7, LrSchedule.Kind.CONSTANT, 1e-3, 0, 0,
                AdamW.Config.qlora(), 0, 0, true);
        Trainer.Settings accum = new Trainer.Settings(1, 4, 64, 1, 0, 7, LrSchedule.Kind.CONSTANT, 1e-3, 0, 0,
                AdamW.Config.qlora(), 0, 0, true);
        LlamaModel model = small.model();
        double lossOne = new Trainer(model, one, examples, noClip).trainStep(new long[2]);
        double lossFour = new Trainer(model, four, examples, accum).trainStep(new long[2]);
        assertThat(lossFour).isCloseTo(lossOne, org.assertj.core.data.Offset.offset(1e-5 * Math.abs(lossOne)));
        float max = 0;
        for (float g : one.grads) max = Math.max(max, Math.abs(g));
        assertThat(max).isGreaterThan(1e-3f);
        for (int i = 0; i < one.grads.length; i++) {
            assertThat(Math.abs(four.grads[i] - one.grads[i])).as("grad %d", i).isLessThanOrEqualTo(2e-5f * max);
        }
    }

    @Test
    void sameEverythingGivesABitIdenticalAdapterAndResumeContinuesExactly() throws Exception {
        LlamaModel model = small.model();
        LoraAdapter a = adapter(0.1, 11);
        Trainer ta = new Trainer(model, a, examples, settings(2, 2, 6, 13));
        Trainer.Result ra = ta.run(dir.resolve("a.jsonl"), null);
        assertThat(ra.completed()).isTrue();
        assertThat(ra.stepsDone()).isEqualTo(6);

        LoraAdapter b = adapter(0.1, 11);
        new Trainer(model, b, examples, settings(2, 2, 6, 13)).run(null, null);
        assertThat(b.params).isEqualTo(a.params);

        LoraAdapter other = adapter(0.1, 11);
        new Trainer(model, other, examples, settings(2, 2, 6, 14)).run(null, null);
        assertThat(other.params).as("another data/dropout seed").isNotEqualTo(a.params);

        // 3 steps, save, a fresh trainer from the saved state runs the other 3
        LoraAdapter c = adapter(0.1, 11);
        Trainer tc = new Trainer(model, c, examples, settings(2, 2, 6, 13));
        Trainer.Result first = tc.run(null, m -> {
            if (m.step() == 3) tc.requestStop();
        });
        assertThat(first.completed()).isFalse();
        assertThat(first.stepsDone()).isEqualTo(3);
        Path state = dir.resolve("state");
        tc.saveState(state, "small");
        TrainingState saved = TrainingState.load(state, small.config());
        Trainer td = new Trainer(model, saved.adapter, examples, settings(2, 2, 6, 13));
        td.restore(saved);
        Trainer.Result second = td.run(null, null);
        assertThat(second.completed()).isTrue();
        assertThat(saved.adapter.params).isEqualTo(a.params);
        assertThat(td.optimizer().expAvg()).isEqualTo(ta.optimizer().expAvg());
        assertThat(td.optimizer().expAvgSq()).isEqualTo(ta.optimizer().expAvgSq());

        // one JSON line per step
        List<String> lines = Files.readAllLines(dir.resolve("a.jsonl"));
        assertThat(lines).hasSize(6);
        JsonNode last = new ObjectMapper().readTree(lines.get(5));
        assertThat(last.get("step").asLong()).isEqualTo(6);
        assertThat(last.get("loss").asDouble()).isEqualTo(ra.lastLoss());
        assertThat(last.get("tokens_per_s").asDouble()).isPositive();
    }

    static Trainer.Settings savingEvery(int saveSteps, long seed, int batch, int accum) {
        return new Trainer.Settings(batch, accum, 64, 7, 0, seed, LrSchedule.Kind.COSINE, 1e-2, 1, 0,
                AdamW.Config.torchDefaults(), 1.0, saveSteps, true);
    }

    @Test
    void saveStepsWritesStatesAtItsMultiplesAndResumingFromOneEndsBitIdentical() throws Exception {
        LlamaModel model = small.model();
        LoraAdapter straight = adapter(0.1, 21);
        Trainer uninterrupted = new Trainer(model, straight, examples, savingEvery(0, 5, 2, 2));
        uninterrupted.run(null, null);

        // the same run saving every 3 steps: the state holds step 3 after steps 3..5, step 6 after step 6, and the
        // last step (7) is left to the caller
        Path state = dir.resolve("every3");
        Map<Long, Long> savedStepSeenAt = new TreeMap<>();
        LoraAdapter saving = adapter(0.1, 21);
        Trainer t = new Trainer(model, saving, examples, savingEvery(3, 5, 2, 2));
        Path atStep3 = dir.resolve("copy-of-step-3");
        t.run(null, state, "small", m -> {
            Path json = state.resolve(TrainingState.STATE_FILE);
            try {
                savedStepSeenAt.put(m.step(), Files.exists(json) ? new ObjectMapper().readTree(json.toFile()).get("step").asLong() : -1);
                if (m.step() == 3) {
                    copyTree(state, atStep3);
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        assertThat(savedStepSeenAt).containsExactly(Map.entry(1L, -1L), Map.entry(2L, -1L), Map.entry(3L, 3L),
                Map.entry(4L, 3L), Map.entry(5L, 3L), Map.entry(6L, 6L), Map.entry(7L, 6L));
        assertThat(saving.params).as("saving does not change the run").isEqualTo(straight.params);

        // resume from the step-3 state (as a crash after step 5 would): the end is bit-identical
        TrainingState s3 = TrainingState.load(atStep3, small.config());
        assertThat(s3.step).isEqualTo(3);
        Trainer resumed = new Trainer(model, s3.adapter, examples, savingEvery(3, 5, 2, 2));
        resumed.restore(s3);
        Trainer.Result r = resumed.run(null, null);
        assertThat(r.stepsDone()).isEqualTo(7);
        assertThat(s3.adapter.params).isEqualTo(straight.params);
        assertThat(resumed.optimizer().expAvg()).isEqualTo(uninterrupted.optimizer().expAvg());
        assertThat(resumed.optimizer().expAvgSq()).isEqualTo(uninterrupted.optimizer().expAvgSq());
        assertThat(resumed.optimizer().stepCount()).isEqualTo(7);
    }

    @Test
    void resumeRefusesAStateSavedWithOtherSettingsNamingThem() throws Exception {
        LlamaModel model = small.model();
        Trainer t = new Trainer(model, adapter(0.1, 21), examples, savingEvery(0, 5, 2, 2));
        t.run(null, m -> {
            if (m.step() == 2) t.requestStop();
        });
        Path state = dir.resolve("refuse");
        t.saveState(state, "small");

        record Case(Trainer.Settings settings, List<TokenizedExample> data, String expected) {
        }
        List<TokenizedExample> otherData = new ArrayList<>(examples);
        otherData.set(3, new TokenizedExample(new int[]{1, 2, 3, 4, 5}, new int[]{-100, 2, 3, 4, 5}));
        Trainer.Settings base = savingEvery(0, 5, 2, 2);
        List<Case> cases = List.of(
                new Case(savingEvery(0, 6, 2, 2), examples, "saved with --seed 5; this run has --seed 6"),
                new Case(savingEvery(0, 5, 1, 2), examples, "saved with --batch-size 2; this run has --batch-size 1"),
                new Case(savingEvery(0, 5, 2, 4), examples, "saved with --grad-accum 2; this run has --grad-accum 4"),
                new Case(savingEvery(0, 6, 4, 2), examples, "saved with --seed 5, --batch-size 2; this run has --seed 6, --batch-size 4"),
                new Case(new Trainer.Settings(2, 2, 64, 7, 0, 5, LrSchedule.Kind.COSINE, 2e-2, 1, 0,
                        AdamW.Config.torchDefaults(), 1.0, 0, true), examples, "saved with --lr 0.01; this run has --lr 0.02"),
                new Case(new Trainer.Settings(2, 2, 64, 7, 0, 5, LrSchedule.Kind.COSINE, 1e-2, 1, 0,
                        AdamW.Config.qlora(), 1.0, 0, true), examples, "saved with --weight-decay 0.01; this run has --weight-decay 0.0"),
                new Case(base, otherData, "the tokenized examples of --data (SHA-256)"));
        for (Case c : cases) {
            TrainingState s = TrainingState.load(state, small.config());
            Trainer other = new Trainer(model, s.adapter, c.data(), c.settings());
            assertThatThrownBy(() -> other.restore(s)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("cannot resume: the state was saved with ")
                    .hasMessageContaining(c.expected())
                    .hasMessageNotContaining("\n");
            assertThat(other.step()).as("nothing restored").isZero();
        }
        // the same settings with more steps resume
        TrainingState s = TrainingState.load(state, small.config());
        Trainer longer = new Trainer(model, s.adapter, examples, new Trainer.Settings(2, 2, 64, 20, 0, 5,
                LrSchedule.Kind.COSINE, 1e-2, 1, 0, AdamW.Config.torchDefaults(), 1.0, 0, true));
        longer.restore(s);
        assertThat(longer.step()).isEqualTo(2);
    }

    private static void copyTree(Path from, Path to) throws java.io.IOException {
        Files.createDirectories(to);
        try (java.util.stream.Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    @Test
    void truncationIsCountedAndTheLossFallsOnRepeatedData() throws Exception {
        LlamaModel model = small.model();
        Trainer.Settings s = new Trainer.Settings(4, 1, 7, 0, 15, 1, LrSchedule.Kind.CONSTANT, 5e-2, 0, 0,
                AdamW.Config.qlora(), 1.0, 0, true);
        Trainer t = new Trainer(model, adapter(0, 2), examples, s);
        long longer = examples.stream().filter(e -> e.inputIds().length > 7).count();
        assertThat(longer).isPositive();
        assertThat(t.truncatedExamples()).isEqualTo((int) longer);
        assertThat(t.totalSteps()).isEqualTo(30); // 15 epochs · 8 examples / 4 per step
        Trainer.Result r = t.run(null, null);
        // logits of this std-0.02 model are bounded by ≈ 0.65 (see the tiny test), so the loss can only fall from
        // ln 64 ≈ 4.16 to ≈ 3.5: a fall of 0.2 nats is most of what is reachable
        assertThat(r.firstLoss() - r.lastLoss()).as("loss %s -> %s", r.firstLoss(), r.lastLoss()).isGreaterThan(0.2);
    }

    /** make-model tiny: a few examples are memorised, then generated greedily through the adapter; PEFT round trip. */
    @Test
    void tinyModelOverfitsAFewExamplesAndGeneratesTheMemorisedResponse() throws Exception {
        Path m = dir.resolve("tiny");
        ModelShape shape = ModelShape.preset("tiny");
        ByteLevelBpeWriter.write(m, shape.vocabSize());
        Integer bos, eos;
        try (Tokenizer tok = Tokenizer.load(m)) {
            bos = tok.bosId();
            eos = tok.eosIds().stream().min(Integer::compare).orElse(null);
        }
        ModelMaker.write(m, shape, 3, DType.BF16, bos, eos);
        List<PromptResponse> data = List.of(new PromptResponse("Colour of the sky?", "blue"),
                new PromptResponse("Capital of France?", "Paris"), new PromptResponse("Two plus two?", "four"));
        try (BaseModel tiny = BaseModel.open(m, () -> new CpuBackend(2))) {
            Tokenizer tok = tiny.tokenizer();
            ExampleEncoder enc = new ExampleEncoder(tok);
            List<TokenizedExample> ex = new ArrayList<>();
            for (PromptResponse p : data) ex.add(enc.encode(p));
            LlamaModel model = tiny.model();
            LoraAdapter a = LoraAdapter.initialize(new LoraConfig(16, 32, 0.0, LoraConfig.ALL_TARGETS, false), tiny.config(), 1);
            Trainer.Settings s = new Trainer.Settings(3, 1, 128, 60, 0, 1, LrSchedule.Kind.CONSTANT, 3e-3, 3, 0,
                    AdamW.Config.qlora(), 1.0, 0, true);
            Trainer.Result r = new Trainer(model, a, ex, s).run(null, null);
            // The frozen lm_head of a make-model checkpoint (std 0.02) bounds every logit by |h|·|w| ≈ √128 · 0.02·√128 ≈ 2.6
            // after the final RMSNorm, so the loss cannot fall below ≈ ln 1024 − 2.6 ≈ 4.3 whatever the adapter learns:
            // the asserted factor is on perplexity (at least 10×, i.e. ≥ 2.3 nats), and greedy decoding below shows
            // the targets became the most likely tokens.
            assertThat(r.firstLoss() - r.lastLoss()).as("loss %s -> %s", r.firstLoss(), r.lastLoss()).isGreaterThan(Math.log(10));

            Path out = dir.resolve("adapter");
            PeftAdapter.save(a, out, m.toString());
            LoraAdapter loaded = PeftAdapter.load(out, tiny.config());
            assertThat(loaded.params).isEqualTo(a.params);

            LlamaModel plain = tiny.model();
            LlamaModel tuned = tiny.model();
            tuned.attachLora(loaded, null);
            Set<Integer> stop = new HashSet<>(tok.eosIds());
            stop.addAll(tiny.config().eosTokenIds());
            int memorised = 0;
            for (PromptResponse p : data) {
                int[] outIds = new Generator(tuned).generate(enc.encodePrompt(p.prompt()), 8, stop, Sampling.greedy(), t -> { });
                String text = tok.decode(outIds).strip();
                assertThat(text).as(p.prompt()).isEqualTo(p.response());
                int[] base = new Generator(plain).generate(enc.encodePrompt(p.prompt()), 8, stop, Sampling.greedy(), t -> { });
                if (!tok.decode(base).strip().equals(p.response())) memorised++;
            }
            assertThat(memorised).as("the base model alone does not produce the responses").isEqualTo(data.size());
        }
    }
}
