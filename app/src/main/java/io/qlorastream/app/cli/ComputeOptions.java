package io.qlorastream.app.cli;

import io.qlorastream.engine.compute.Backend;
import io.qlorastream.engine.compute.CpuBackend;
import picocli.CommandLine.Option;

/** {@code --threads} for commands that run the engine; the place where {@code --device} joins later. */
public final class ComputeOptions {
    @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
            description = "Compute threads; 0 = one per available processor (default: ${DEFAULT-VALUE}).")
    int threads;

    public int threads() {
        if (threads < 0) {
            throw new IllegalArgumentException("--threads must be >= 0, got " + threads);
        }
        return threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
    }

    public Backend backend() {
        return new CpuBackend(threads());
    }
}
