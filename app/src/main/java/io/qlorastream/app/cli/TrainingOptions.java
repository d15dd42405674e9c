package io.qlorastream.app.cli;

import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.optim.AdamW;
import io.qlorastream.engine.optim.LrSchedule;
import io.qlorastream.trainer.TrainingSpec;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/**
 * The engine settings of the streaming trainers ({@code trainer}, {@code retrain}): the same names, meanings and
 * defaults as {@code train}'s (SettingsPrecedenceTest-style parity is checked by TrainingOptionsTest), except that
 * {@code --steps} here is only the schedule's length, since a stream has no end.
 */
public final class TrainingOptions {
    @Option(names = "--model", paramLabel = "DIR", required = true, description = "Model directory (required).")
    public Path model;

    @Option(names = "--base-model-name", paramLabel = "NAME",
            description = "Name of the base model in snapshots and adapter_config.json (default: the model directory's name).")
    public String baseModelName;

    @Option(names = "--r", paramLabel = "N", defaultValue = "64", description = "LoRA rank (default: ${DEFAULT-VALUE}).")
    int r;

    @Option(names = "--lora-alpha", paramLabel = "A", defaultValue = "16", description = "LoRA alpha (default: ${DEFAULT-VALUE}).")
    double alpha;

    @Option(names = "--lora-dropout", paramLabel = "P", defaultValue = "0.05", description = "LoRA dropout (default: ${DEFAULT-VALUE}).")
    double dropout;

    @Option(names = "--target-modules", paramLabel = "LIST", defaultValue = "all-linear",
            description = "Comma-separated projections (q_proj,...,down_proj) or all-linear (default: ${DEFAULT-VALUE}).")
    String targets;

    @Option(names = "--use-rslora", negatable = false, defaultValue = "false",
            description = "Scale by alpha/sqrt(r) instead of alpha/r (default: ${DEFAULT-VALUE}).")
    boolean rslora;

    @Option(names = "--lr", paramLabel = "LR", defaultValue = "2e-4", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--schedule", paramLabel = "KIND", defaultValue = "constant",
            description = "constant, linear or cosine, after the warmup; linear and cosine need --steps (default: ${DEFAULT-VALUE}).")
    String schedule;

    @Option(names = "--warmup-steps", paramLabel = "N", defaultValue = "0",
            description = "Linear warmup steps; 0 = --warmup-ratio of --steps (none when --steps is 0) (default: ${DEFAULT-VALUE}).")
    int warmupSteps;

    @Option(names = "--warmup-ratio", paramLabel = "F", defaultValue = "0.03",
            description = "Warmup as a fraction of --steps (default: ${DEFAULT-VALUE}).")
    double warmupRatio;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "0",
            description = "Length of the learning-rate schedule in optimizer steps; 0 = unbounded (constant only) (default: ${DEFAULT-VALUE}).")
    long steps;

    @Option(names = "--weight-decay", paramLabel = "F", defaultValue = "0", description = "AdamW weight decay (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--adam-beta1", paramLabel = "F", defaultValue = "0.9", description = "AdamW beta1 (default: ${DEFAULT-VALUE}).")
    double beta1;

    @Option(names = "--adam-beta2", paramLabel = "F", defaultValue = "0.999", description = "AdamW beta2 (default: ${DEFAULT-VALUE}).")
    double beta2;

    @Option(names = "--adam-epsilon", paramLabel = "F", defaultValue = "1e-8", description = "AdamW epsilon (default: ${DEFAULT-VALUE}).")
    double adamEps;

    @Option(names = "--max-grad-norm", paramLabel = "F", defaultValue = "0.3",
            description = "Clip the global gradient norm; 0 = no clipping (default: ${DEFAULT-VALUE}).")
    double maxGradNorm;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "1",
            description = "Examples per micro-batch, right-padded (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--grad-accum", paramLabel = "N", defaultValue = "1",
            description = "Micro-batches per optimizer step (default: ${DEFAULT-VALUE}).")
    int gradAccum;

    @Option(names = "--max-seq-len", paramLabel = "N", defaultValue = "512",
            description = "Truncate longer examples (default: ${DEFAULT-VALUE}).")
    int maxSeqLen;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "42", description = "Seed of the adapter init and dropout (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--gradient-checkpointing", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Recompute each decoder block in the backward instead of keeping its activations (default: ${DEFAULT-VALUE}).")
    boolean checkpointing;

    public TrainingSpec spec() {
        if (!java.nio.file.Files.isRegularFile(model.resolve("config.json"))) {
            throw new IllegalArgumentException("--model: no config.json in " + model);
        }
        List<String> targetList = targets.equalsIgnoreCase("all-linear") ? LoraConfig.ALL_TARGETS : LoraConfig.parseTargets(targets);
        return new TrainingSpec(new LoraConfig(r, alpha, dropout, targetList, rslora), seed, batchSize, gradAccum, maxSeqLen,
                LrSchedule.Kind.parse(schedule), lr, warmupSteps, warmupRatio, steps,
                new AdamW.Config(beta1, beta2, adamEps, weightDecay), maxGradNorm, checkpointing);
    }
}
