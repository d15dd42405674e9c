package io.qlorastream.app.bench;

import io.qlorastream.app.cli.ComputeOptions;
import io.qlorastream.app.cli.ConfigFileOption;
import io.qlorastream.engine.bench.ForwardBenchmark;
import io.qlorastream.engine.model.BaseModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code qlora-stream bench forward}: prefill and decode speed of the forward pass versus OpenBLAS sgemm. */
@Command(name = "forward",
        description = "Prefill tokens/s, decode tokens/s and peak resident memory of the forward pass on a (NF4-quantized) "
                + "model, and OpenBLAS sgemm GFLOP/s measured in the same run; prints prefill GFLOP/s as a fraction of it.")
public final class BenchForwardCommand implements Callable<Integer> {

    @Mixin
    ConfigFileOption configFile;

    @Mixin
    ComputeOptions compute;

    @Option(names = "--model", paramLabel = "DIR", required = true,
            description = "Model directory (config.json + safetensors), quantized to NF4 while loading (required).")
    Path model;

    @Option(names = "--seq-len", paramLabel = "N", defaultValue = "512",
            description = "Prefill length in tokens (default: ${DEFAULT-VALUE}).")
    int seqLen;

    @Option(names = "--decode-tokens", paramLabel = "N", defaultValue = "32",
            description = "Tokens decoded one at a time through the KV cache (default: ${DEFAULT-VALUE}).")
    int decodeTokens;

    @Option(names = "--repeats", paramLabel = "N", defaultValue = "2",
            description = "Timed prefill runs after one warm-up; the best counts (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Override
    public Integer call() throws Exception {
        if (seqLen < 1 || decodeTokens < 1 || repeats < 1) {
            throw new IllegalArgumentException("--seq-len, --decode-tokens and --repeats must be at least 1");
        }
        PrintStream out = System.out;
        try (BaseModel base = BaseModel.open(model, compute::backend)) {
            ForwardBenchmark.Result r = ForwardBenchmark.run(base.model(), seqLen, decodeTokens, repeats);
            out.printf(Locale.ROOT, "model            %s (%s)%n", model, base.config().architecture());
            out.printf(Locale.ROOT, "threads          %d (OPENBLAS_CORETYPE=%s)%n", r.threads(),
                    System.getenv().getOrDefault("OPENBLAS_CORETYPE", "unset"));
            out.printf(Locale.ROOT, "prefill          %d tokens in %.3f s: %.1f tokens/s, %.2f GFLOP/s (%.1f GFLOP)%n",
                    r.seqLen(), r.prefillSeconds(), r.prefillTokensPerSecond(), r.prefillGflops(), r.prefillFlops() / 1e9);
            out.printf(Locale.ROOT, "decode           %d tokens: %.2f tokens/s%n", r.decodeTokens(), r.decodeTokensPerSecond());
            out.printf(Locale.ROOT, "sgemm peak       %.2f GFLOP/s (OpenBLAS %s: %.2f on 1 thread, %.2f on %d threads)%n",
                    r.sgemmGflops(), r.sgemmShape(), r.sgemmGflopsOneThread(), r.sgemmGflopsAllThreads(), r.threads());
            out.printf(Locale.ROOT, "prefill / peak   %.1f%%%n", 100 * r.fractionOfPeak());
            out.printf(Locale.ROOT, "weights          %,d bytes resident; NF4 projections %.4f bytes per quantized parameter (%,d parameters)%n",
                    r.weightBytes(), r.quantizedBytesPerParameter(), r.quantizedParameters());
            out.printf(Locale.ROOT, "peak RSS         %,d bytes (VmHWM)%n", r.peakRssBytes());
            out.flush();
        }
        return 0;
    }
}
