package io.qlorastream.app.cli;

import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.optim.AdamW;
import io.qlorastream.engine.optim.LrSchedule;
import picocli.CommandLine.Option;

/**
 * The engine's training settings (LoRA, optimizer, schedule, batching, sequence length, seed, checkpointing), one
 * definition for every command that trains: {@code train} offline, {@code trainer} and {@code retrain} on the stream
 * (through {@link TrainingOptions}). The run's length ({@code --steps}, {@code --epochs}) means different things
 * there, so each command declares it itself.
 */
public final class EngineTrainingOptions {
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
    public double lr;

    @Option(names = "--schedule", paramLabel = "KIND", defaultValue = "constant",
            description = "constant, linear or cosine, after the warmup; linear and cosine decay over --steps (default: ${DEFAULT-VALUE}).")
    String schedule;

    @Option(names = "--warmup-steps", paramLabel = "N", defaultValue = "0",
            description = "Linear warmup steps; 0 = --warmup-ratio of the steps (default: ${DEFAULT-VALUE}).")
    public int warmupSteps;

    @Option(names = "--warmup-ratio", paramLabel = "F", defaultValue = "0.03",
            description = "Warmup as a fraction of the steps (default: ${DEFAULT-VALUE}).")
    public double warmupRatio;

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
    public double maxGradNorm;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "1",
            description = "Examples per micro-batch, right-padded (default: ${DEFAULT-VALUE}).")
    public int batchSize;

    @Option(names = "--grad-accum", paramLabel = "N", defaultValue = "1",
            description = "Micro-batches per optimizer step (default: ${DEFAULT-VALUE}).")
    public int gradAccum;

    @Option(names = "--max-seq-len", paramLabel = "N", defaultValue = "512",
            description = "Truncate longer examples (counted and reported) (default: ${DEFAULT-VALUE}).")
    public int maxSeqLen;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "42",
            description = "Seed of the adapter init and dropout, and of train's data order (default: ${DEFAULT-VALUE}).")
    public long seed;

    @Option(names = "--gradient-checkpointing", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Recompute each decoder block in the backward instead of keeping its activations (default: ${DEFAULT-VALUE}).")
    public boolean checkpointing;

    public LoraConfig loraConfig() {
        java.util.List<String> targetList = targets.equalsIgnoreCase("all-linear") ? LoraConfig.ALL_TARGETS : LoraConfig.parseTargets(targets);
        return new LoraConfig(r, alpha, dropout, targetList, rslora);
    }

    public AdamW.Config adamW() {
        return new AdamW.Config(beta1, beta2, adamEps, weightDecay);
    }

    public LrSchedule.Kind scheduleKind() {
        return LrSchedule.Kind.parse(schedule);
    }
}
