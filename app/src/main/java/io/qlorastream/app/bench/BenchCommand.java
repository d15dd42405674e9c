package io.qlorastream.app.bench;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code qlora-stream bench <what>}: measurements reported as ratios against a baseline measured in the same run. */
@Command(name = "bench",
        description = "Benchmarks: each measures a baseline in the same run and prints the ratio.",
        synopsisSubcommandLabel = "WHAT",
        subcommands = {
                BenchForwardCommand.class,
                BenchIngestCommand.class,
                BenchRedactCommand.class,
                BenchTrainCommand.class,
        })
public final class BenchCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing benchmark (one of: "
                + String.join(", ", spec.subcommands().keySet()) + ")");
    }
}
