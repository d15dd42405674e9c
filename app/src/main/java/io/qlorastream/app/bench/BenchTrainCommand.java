package io.qlorastream.app.bench;

import io.qlorastream.app.cli.ComputeOptions;
import io.qlorastream.app.cli.ConfigFileOption;
import io.qlorastream.engine.bench.TrainBenchmark;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.model.BaseModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code qlora-stream bench train}: QLoRA training speed versus OpenBLAS sgemm. */
@Command(name = "train",
        description = "Training tokens/s of full QLoRA optimizer steps on random tokens, peak resident memory, and model "
                + "GFLOP/s as a fraction of OpenBLAS sgemm GFLOP/s measured in the same run. Model FLOPs: the frozen products' "
                + "forward and input gradient, attention's forward and backward, LoRA's forward, input and weight gradients; "
                + "not checkpointing's recompute.")
public final class BenchTrainCommand implements Callable<Integer> {

    @Mixin
    ConfigFileOption configFile;

    @Mixin
    ComputeOptions compute;

    @Option(names = "--model", paramLabel = "DIR", required = true,
            description = "Model directory (config.json + safetensors), quantized to NF4 while loading (required).")
    Path model;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "1", description = "Sequences per step (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--seq-len", paramLabel = "N", defaultValue = "512", description = "Tokens per sequence (default: ${DEFAULT-VALUE}).")
    int seqLen;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "3", description = "Timed steps after one warm-up (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--r", paramLabel = "N", defaultValue = "64", description = "LoRA rank, all seven projections (default: ${DEFAULT-VALUE}).")
    int r;

    @Option(names = "--gradient-checkpointing", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Activation checkpointing per decoder block (default: ${DEFAULT-VALUE}).")
    boolean checkpointing;

    @Override
    public Integer call() throws Exception {
        if (batchSize < 1 || seqLen < 2 || steps < 1) {
            throw new IllegalArgumentException("--batch-size and --steps must be at least 1, --seq-len at least 2");
        }
        PrintStream out = System.out;
        try (BaseModel base = BaseModel.open(model, compute::backend)) {
            LoraConfig lora = LoraConfig.qloraDefaults().withR(r);
            TrainBenchmark.Result res = TrainBenchmark.run(base.model(), lora, batchSize, seqLen, steps, checkpointing);
            out.printf(Locale.ROOT, "model            %s (%s), LoRA r %d on all projections (%,d parameters)%n", model,
                    base.config().architecture(), r, res.adapterParameters());
            out.printf(Locale.ROOT, "threads          %d, activation checkpointing %s%n", res.threads(), res.checkpointing() ? "on" : "off");
            out.printf(Locale.ROOT, "train step       [%d x %d] tokens in %.3f s: %.1f tokens/s, %.2f GFLOP/s (%.2f GFLOP per step)%n",
                    res.batch(), res.seqLen(), res.secondsPerStep(), res.tokensPerSecond(), res.gflops(), res.flopsPerStep() / 1e9);
            out.printf(Locale.ROOT, "model FLOPs      %.2f GFLOP per step: frozen products %.2f (forward, input gradient), "
                            + "attention %.2f (forward, backward), LoRA %.2f (forward, input and weight gradients)%n",
                    res.flopsPerStep() / 1e9, res.frozenFlopsPerStep() / 1e9, res.attentionFlopsPerStep() / 1e9,
                    res.loraFlopsPerStep() / 1e9);
            out.printf(Locale.ROOT, "sgemm peak       %.2f GFLOP/s (OpenBLAS %s: %.2f on 1 thread, %.2f on %d threads)%n",
                    res.sgemmGflops(), res.sgemmShape(), res.sgemmGflopsOneThread(), res.sgemmGflopsAllThreads(), res.threads());
            out.printf(Locale.ROOT, "train / peak     %.1f%%%n", 100 * res.fractionOfPeak());
            out.printf(Locale.ROOT, "peak RSS         %,d bytes (VmHWM)%n", res.peakRssBytes());
            out.flush();
        }
        return 0;
    }
}
