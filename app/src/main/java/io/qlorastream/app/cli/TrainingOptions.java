package io.qlorastream.app.cli;

import io.qlorastream.trainer.TrainingSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * The settings of the streaming trainers ({@code trainer}, {@code retrain}): the model, and the engine's training
 * settings exactly as {@code train} has them ({@link EngineTrainingOptions}), except that {@code --steps} here is only
 * the schedule's length, since a stream has no end.
 */
public final class TrainingOptions {
    @Option(names = "--model", paramLabel = "DIR", required = true, description = "Model directory (required).")
    public Path model;

    @Option(names = "--base-model-name", paramLabel = "NAME",
            description = "Name of the base model in snapshots and adapter_config.json (default: the model directory's name).")
    public String baseModelName;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "0",
            description = "Length of the learning-rate schedule in optimizer steps; 0 = unbounded (constant only) (default: ${DEFAULT-VALUE}).")
    long steps;

    @Mixin
    public EngineTrainingOptions engine;

    public TrainingSpec spec() {
        if (!java.nio.file.Files.isRegularFile(model.resolve("config.json"))) {
            throw new IllegalArgumentException("--model: no config.json in " + model);
        }
        EngineTrainingOptions e = engine;
        return new TrainingSpec(e.loraConfig(), e.seed, e.batchSize, e.gradAccum, e.maxSeqLen, e.scheduleKind(), e.lr,
                e.warmupSteps, e.warmupRatio, steps, e.adamW(), e.maxGradNorm, e.checkpointing);
    }
}
