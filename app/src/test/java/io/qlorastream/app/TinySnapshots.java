package io.qlorastream.app;

import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.data.ExampleEncoder;
import io.qlorastream.engine.data.PromptResponse;
import io.qlorastream.engine.data.TokenizedExample;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.engine.model.BaseModel;
import io.qlorastream.engine.model.ModelMaker;
import io.qlorastream.engine.model.ModelShape;
import io.qlorastream.engine.optim.AdamW;
import io.qlorastream.engine.optim.LrSchedule;
import io.qlorastream.engine.tensor.DType;
import io.qlorastream.engine.tokenizer.ByteLevelBpeWriter;
import io.qlorastream.engine.tokenizer.Tokenizer;
import io.qlorastream.engine.train.Trainer;
import io.qlorastream.store.AdapterStore;
import io.qlorastream.store.StoredArtifact;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** A very small model and a snapshot trained on it with the engine, in the store's layout, for the evaluator's ITs. */
final class TinySnapshots {
    static final String[] ITEMS = {"password", "invoice", "order", "account", "address", "subscription"};

    private TinySnapshots() {
    }

    static PromptResponse example(int i) {
        String item = ITEMS[i % ITEMS.length];
        return new PromptResponse("Customer " + (100 + i) + " asks: how do I change my " + item + "?",
                "Open Settings, then " + item + ", and press change.");
    }

    static String sha256(Path f) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
    }

    /** SHA-256 over config.json then model.safetensors: the project's base-model fingerprint. */
    static String baseModelHash(Path model) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        md.update(Files.readAllBytes(model.resolve("config.json")));
        md.update(Files.readAllBytes(model.resolve("model.safetensors")));
        return HexFormat.of().formatHex(md.digest());
    }

    static Path model(Path model) throws Exception {
        ModelShape shape = ModelShape.llama(64, 2, 4, 2, 160, 512);
        ByteLevelBpeWriter.write(model, shape.vocabSize());
        try (Tokenizer tok = Tokenizer.load(model)) {
            ModelMaker.write(model, shape, 3, DType.F32, tok.bosId(), tok.eosIds().stream().min(Integer::compare).orElse(null));
        }
        return model;
    }

    /**
     * Trains an adapter on examples 0..23 and puts it into the adapter store at {@code store} under {@code relativeDir}
     * through the AdapterStore API (files, then manifest.json); returns the stored artifact.
     */
    static StoredArtifact train(Path model, Path store, String relativeDir) throws Exception {
        Path staging = Files.createTempDirectory(store.getParent(), "staging-");
        try (BaseModel base = BaseModel.open(model, () -> new CpuBackend(2))) {
            ExampleEncoder enc = new ExampleEncoder(base.tokenizer());
            List<TokenizedExample> ex = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                ex.add(enc.encode(example(i)));
            }
            LoraAdapter a = LoraAdapter.initialize(new LoraConfig(8, 16, 0.0, LoraConfig.ALL_TARGETS, false), base.config(), 1);
            new Trainer(base.model(), a, ex, new Trainer.Settings(4, 1, 128, 40, 0, 1, LrSchedule.Kind.CONSTANT, 3e-3,
                    3, 0, AdamW.Config.qlora(), 1.0, 0, false)).run(null, null);
            PeftAdapter.save(a, staging, model.toString());
        }
        try (AdapterStore s = AdapterStore.open(store.toString())) {
            return s.put(relativeDir, staging);
        }
    }
}
