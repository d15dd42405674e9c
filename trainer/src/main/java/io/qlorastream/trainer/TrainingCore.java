package io.qlorastream.trainer;

import io.qlorastream.engine.compute.Backend;
import io.qlorastream.engine.data.ExampleEncoder;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.model.BaseModel;
import io.qlorastream.engine.model.ModelFingerprint;
import io.qlorastream.engine.optim.TrainingState;
import io.qlorastream.engine.train.StepTrainer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * The frozen base model, loaded once per process, and what every adapter lane shares over it: the example encoder,
 * the step trainer (its activation buffers), the base model's name and fingerprint.
 */
public final class TrainingCore implements AutoCloseable {
    public final TrainingSpec spec;
    public final Path modelDir;
    public final String baseModelName;
    public final String baseModelHash;
    public final BaseModel base;
    public final ExampleEncoder encoder;
    public final StepTrainer stepTrainer;

    /** Opens the base model in {@code modelDir} on the backend {@code backend} opens; closing the core closes both. */
    public TrainingCore(Path modelDir, String baseModelName, TrainingSpec spec, Supplier<? extends Backend> backend) throws IOException {
        this.spec = spec;
        this.modelDir = modelDir;
        this.baseModelName = baseModelName != null ? baseModelName : modelDir.toAbsolutePath().normalize().getFileName().toString();
        this.baseModelHash = ModelFingerprint.sha256(modelDir);
        this.base = BaseModel.open(modelDir, backend);
        try {
            this.encoder = new ExampleEncoder(base.tokenizer());
        } catch (RuntimeException e) {
            base.close();
            throw e;
        }
        this.stepTrainer = new StepTrainer(base.model(), spec.stepSettings());
    }

    /** A fresh lane: PEFT init from the seed, as {@code train} starts one. */
    public StepTrainer.Lane freshLane() {
        return StepTrainer.Lane.fresh(LoraAdapter.initialize(spec.lora(), base.config(), spec.seed()), spec.adam(), spec.seed());
    }

    public StepTrainer.Lane restoreLane(Path stateDir) throws IOException {
        return StepTrainer.Lane.restore(TrainingState.load(stateDir, base.config()), spec.seed());
    }

    @Override
    public void close() {
        base.close();
    }
}
