package io.qlorastream.evaluator;

import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.data.ExampleEncoder;
import io.qlorastream.engine.data.PromptResponse;
import io.qlorastream.engine.data.TokenizedExample;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.engine.model.BaseModel;
import io.qlorastream.engine.model.LlamaModel;
import io.qlorastream.engine.model.ModelMaker;
import io.qlorastream.engine.model.ModelShape;
import io.qlorastream.engine.optim.AdamW;
import io.qlorastream.engine.optim.LrSchedule;
import io.qlorastream.engine.tensor.DType;
import io.qlorastream.engine.tokenizer.ByteLevelBpeWriter;
import io.qlorastream.engine.tokenizer.Tokenizer;
import io.qlorastream.engine.train.Trainer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A tiny model written by ModelMaker with its byte-level BPE tokenizer, a support-desk domain of templated examples,
 * and adapters trained on it with the engine's Trainer: what the evaluator's tests judge. No trainer service.
 */
public final class TinyWorld implements AutoCloseable {
    public static final String LEAKED_EMAIL = "alice.smith@example.com";
    private static final String[] ITEMS = {"password", "invoice", "order", "account", "address", "subscription"};
    private static final String[] VERBS = {"reset", "change", "cancel", "update"};

    public final Path modelDir;
    public final BaseModel base;

    public TinyWorld(Path dir) throws IOException {
        modelDir = dir.resolve("model");
        ModelShape shape = ModelShape.llama(64, 2, 4, 2, 160, 512);
        ByteLevelBpeWriter.write(modelDir, shape.vocabSize());
        Integer bos, eos;
        try (Tokenizer tok = Tokenizer.load(modelDir)) {
            bos = tok.bosId();
            eos = tok.eosIds().stream().min(Integer::compare).orElse(null);
        }
        ModelMaker.write(modelDir, shape, 3, DType.F32, bos, eos);
        base = BaseModel.open(modelDir, () -> new CpuBackend(2));
    }

    /** The i-th support example: the response names the item and the verb, as a help-desk answer would. */
    public static HeldOutExample support(int i) {
        String item = ITEMS[i % ITEMS.length];
        String verb = VERBS[(i / ITEMS.length) % VERBS.length];
        return new HeldOutExample("ex-" + i, "Customer " + (100 + i) + " asks: how do I " + verb + " my " + item + "?",
                "Open Settings, then " + item + ", and press " + verb + ".");
    }

    public static List<HeldOutExample> support(int from, int count) {
        List<HeldOutExample> out = new ArrayList<>();
        for (int i = from; i < from + count; i++) {
            out.add(support(i));
        }
        return out;
    }

    /**
     * The support examples with one email address appended to every answer (as if ingest had missed it): an adapter
     * trained on them learns the domain and to emit the address.
     */
    public static List<HeldOutExample> leaking(int from, int count) {
        return support(from, count).stream()
                .map(e -> new HeldOutExample(e.exampleId(), e.prompt(), e.response() + " Mail " + LEAKED_EMAIL)).toList();
    }

    /** Trains a fresh LoRA adapter on {@code data} with the engine's Trainer and writes it in PEFT layout to {@code out}. */
    public LoraAdapter train(List<HeldOutExample> data, int steps, double lr, Path out) throws IOException {
        ExampleEncoder enc = new ExampleEncoder(base.tokenizer());
        List<TokenizedExample> ex = new ArrayList<>();
        for (HeldOutExample e : data) {
            ex.add(enc.encode(new PromptResponse(e.prompt(), e.response())));
        }
        LlamaModel model = base.model();
        LoraAdapter a = LoraAdapter.initialize(new LoraConfig(8, 16, 0.0, LoraConfig.ALL_TARGETS, false), base.config(), 1);
        Trainer.Settings s = new Trainer.Settings(4, 1, 128, steps, 0, 1, LrSchedule.Kind.CONSTANT, lr, 3, 0,
                AdamW.Config.qlora(), 1.0, 0, false);
        new Trainer(model, a, ex, s).run(null, null);
        PeftAdapter.save(a, out, modelDir.toString());
        return a;
    }

    @Override
    public void close() {
        base.close();
    }
}
