package io.qlorastream.trainer;

import io.qlorastream.engine.compute.Backend;
import io.qlorastream.engine.data.ExampleEncoder;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.model.LlamaModel;
import io.qlorastream.engine.model.LlamaWeights;
import io.qlorastream.engine.model.LoadOptions;
import io.qlorastream.engine.model.ModelFingerprint;
import io.qlorastream.engine.model.ModelLoader;
import io.qlorastream.engine.optim.TrainingState;
import io.qlorastream.engine.tokenizer.Tokenizer;
import io.qlorastream.engine.train.StepTrainer;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The frozen base model, loaded once per process, and what every adapter lane shares over it: the tokenizer and
 * example encoder, the step trainer (its activation buffers), the base model's name and fingerprint.
 */
public final class TrainingCore implements AutoCloseable {
    public final TrainingSpec spec;
    public final Path modelDir;
    public final String baseModelName;
    public final String baseModelHash;
    public final Tokenizer tokenizer;
    public final ExampleEncoder encoder;
    public final LlamaWeights weights;
    public final StepTrainer stepTrainer;
    private final Backend backend;

    public TrainingCore(Path modelDir, String baseModelName, TrainingSpec spec, Backend backend) throws IOException {
        this.spec = spec;
        this.modelDir = modelDir;
        this.baseModelName = baseModelName != null ? baseModelName : modelDir.toAbsolutePath().normalize().getFileName().toString();
        this.baseModelHash = ModelFingerprint.sha256(modelDir);
        this.backend = backend;
        Tokenizer tok = Tokenizer.load(modelDir);
        try {
            this.weights = ModelLoader.load(modelDir, LoadOptions.defaults());
        } catch (IOException | RuntimeException e) {
            tok.close();
            throw e;
        }
        this.tokenizer = tok;
        this.encoder = new ExampleEncoder(tok);
        this.stepTrainer = new StepTrainer(new LlamaModel(weights, backend), spec.stepSettings());
    }

    /** A fresh lane: PEFT init from the seed, as {@code train} starts one. */
    public StepTrainer.Lane freshLane() {
        return StepTrainer.Lane.fresh(LoraAdapter.initialize(spec.lora(), weights.config, spec.seed()), spec.adam(), spec.seed());
    }

    public StepTrainer.Lane restoreLane(Path stateDir) throws IOException {
        return StepTrainer.Lane.restore(TrainingState.load(stateDir, weights.config), spec.seed());
    }

    @Override
    public void close() {
        weights.close();
        tokenizer.close();
        backend.close();
    }
}
