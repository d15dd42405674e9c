package io.qlorastream.app;

import io.qlorastream.app.bench.BenchCommand;
import io.qlorastream.app.cli.Cli;
import io.qlorastream.app.model.GenerateCommand;
import io.qlorastream.app.model.MakeModelCommand;
import io.qlorastream.app.model.QuantizeCommand;
import io.qlorastream.app.model.ScoreCommand;
import io.qlorastream.app.stack.StackCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * {@code qlora-stream <command> [options]}: the one entry point of every service and tool.
 * Each command lives in its own class; this class only lists them.
 */
@Command(name = "qlora-stream",
        mixinStandardHelpOptions = true,
        scope = ScopeType.INHERIT,
        versionProvider = Cli.VersionProvider.class,
        description = "Continuous QLoRA fine-tuning on a Kafka event stream.",
        synopsisSubcommandLabel = "COMMAND",
        commandListHeading = "%nCommands:%n",
        footer = {"%nSettings: a flag beats the environment variable QLORA_STREAM_<OPTION> "
                + "(--batch-size: QLORA_STREAM_BATCH_SIZE), which beats the --config FILE, which beats the default."},
        subcommands = {
                StackCommand.class,
                io.qlorastream.app.demo.DemoCommand.class,
                QuantizeCommand.class,
                MakeModelCommand.class,
                GenerateCommand.class,
                ScoreCommand.class,
                io.qlorastream.app.model.ExportCommand.class,
                io.qlorastream.app.model.TrainCommand.class,
                io.qlorastream.app.ingest.RedactCommand.class,
                io.qlorastream.app.ingest.IngestCommand.class,
                io.qlorastream.app.ingest.ProduceSampleCommand.class,
                io.qlorastream.app.trainer.TrainerCommand.class,
                io.qlorastream.app.trainer.RetrainCommand.class,
                io.qlorastream.app.evaluator.EvaluatorCommand.class,
                io.qlorastream.app.evaluator.EvaluateCommand.class,
                io.qlorastream.app.publisher.PublisherCommand.class,
                io.qlorastream.app.publisher.ReleasesCommand.class,
                io.qlorastream.app.publisher.RollbackCommand.class,
                io.qlorastream.app.publisher.SubscribeCommand.class,
                io.qlorastream.app.dashboard.DashboardCommand.class,
                BenchCommand.class,
        })
public final class QloraStream implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing command");
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Parses and runs one command line; returns the exit code (0 ok, 1 failure, 2 bad usage). */
    public static int execute(String... args) {
        return Cli.commandLine(new QloraStream(), args, System.getenv()).execute(args);
    }

    /** The command tree with qlora-stream's error handling and layered defaults, for tests and embedding. */
    public static CommandLine commandLine(String... args) {
        return Cli.commandLine(new QloraStream(), args, System.getenv());
    }
}
