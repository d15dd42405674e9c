package io.qlorastream.app.demo;

import io.qlorastream.app.cli.ConfigFileOption;
import io.qlorastream.app.cli.KafkaOptions;
import io.qlorastream.app.cli.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code qlora-stream demo}: the whole pipeline in one process, with a live view and a report. */
@Command(name = "demo",
        description = {"Run the whole pipeline in one process on the embedded Kafka stack (or --bootstrap-servers): a tiny base model "
                + "(made once, cached), ingest, trainer, evaluator, publisher and a subscriber, fed with synthetic tickets and code reviews "
                + "(planted personal data and secrets, duplicates, bots, malformed records) at --rate events/s.",
                "Ends when both adapters (support, code-review) have a release or at --duration; then prints a summary and writes "
                        + "--report-dir (loss curves, evaluations, releases, a sample completion, release manifests). "
                        + "Exit code 0 only if both adapters were released."})
public final class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ConfigFileOption configFile;

    @Option(names = "--duration", paramLabel = "D", defaultValue = "10m",
            description = "Stop after this long even without both releases: 90s, 5m, 1h, or seconds (default: ${DEFAULT-VALUE}).")
    String duration;

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT[,...]",
            description = "Use this Kafka cluster instead of starting the embedded broker and registry; its client settings (SASL, TLS) "
                    + "come from --config's non-qlora.stream keys and QLORA_STREAM_KAFKA_<KEY> variables (default: embedded).")
    String bootstrapServers;

    @Option(names = "--schema-registry-url", paramLabel = "URL", defaultValue = "http://127.0.0.1:8081",
            description = "Schema Registry of --bootstrap-servers' cluster (default: ${DEFAULT-VALUE}; ignored on the embedded stack).")
    String schemaRegistryUrl;

    @Option(names = "--report-dir", paramLabel = "DIR", defaultValue = "demo-report",
            description = "Where the report and demo.log (every service's output) go (default: ${DEFAULT-VALUE}).")
    Path reportDir;

    @Option(names = "--model-cache", paramLabel = "DIR",
            description = "Where the tiny base model is kept between runs (default: ~/.cache/qlora-stream/demo-model).")
    Path modelCache;

    @Option(names = "--work-dir", paramLabel = "DIR",
            description = "Adapter store, checkpoints, keys and the subscriber's directory; must be empty (default: a temporary directory, deleted at the end).")
    Path workDir;

    @Option(names = "--rate", paramLabel = "R", defaultValue = "40",
            description = "Input events per second, tickets and reviews half each (default: ${DEFAULT-VALUE}).")
    double rate;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "1",
            description = "Compute threads of the trainer and of the evaluator, each (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--snapshot-every", paramLabel = "N", defaultValue = "100",
            description = "Snapshot (and so evaluate) each adapter every N training steps (default: ${DEFAULT-VALUE}).")
    int snapshotEvery;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "42", description = "Seed of the synthetic events (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--dashboard-port", paramLabel = "PORT", defaultValue = "8080",
            description = "Serve the live dashboard on 127.0.0.1:PORT (a free port when it is taken; 0 = any free port; -1 = none) (default: ${DEFAULT-VALUE}).")
    int dashboardPort;

    @Option(names = "--linger", paramLabel = "D", defaultValue = "0",
            description = "After the run, keep the dashboard (and the embedded stack) up this long to look at the final state, e.g. 5m; Ctrl-C ends it (default: ${DEFAULT-VALUE}).")
    String linger;

    @Override
    public Integer call() throws Exception {
        System.setProperty("java.awt.headless", "true"); // the loss charts are drawn off screen, also where there is no display
        Demo demo = new Demo(settings(System.getenv()), System.out, ProgressBar.forStdout().inPlace());
        Thread hook = new Thread(() -> {
            demo.requestStop();
            try {
                demo.awaitFinished(Duration.ofSeconds(120)); // services closed, report written
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "demo-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        boolean released = demo.run();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // Ctrl-C: the hook is running and waits for us
        }
        if (!released) {
            throw new IllegalStateException("not every adapter was released within " + duration + " (report in " + reportDir + ")");
        }
        return 0;
    }

    /** The run's settings from the parsed options; Kafka client settings from --config and QLORA_STREAM_KAFKA_* of env. */
    Demo.Settings settings(Map<String, String> env) throws java.io.IOException {
        Duration d = parseDuration("--duration", duration);
        Duration lingerTime = linger.strip().matches("0+(\\.0+)?\\s*(ms|s|m|h)?") ? Duration.ZERO : parseDuration("--linger", linger);
        if (!(rate > 0)) {
            throw new ParameterException(spec.commandLine(), "--rate: must be positive, got " + rate);
        }
        if (threads < 1) {
            throw new ParameterException(spec.commandLine(), "--threads: must be at least 1, got " + threads);
        }
        if (dashboardPort < -1 || dashboardPort > 65535) {
            throw new ParameterException(spec.commandLine(), "--dashboard-port: must be -1..65535, got " + dashboardPort);
        }
        if (snapshotEvery < 1) {
            throw new ParameterException(spec.commandLine(), "--snapshot-every: must be at least 1, got " + snapshotEvery);
        }
        if (workDir != null && Files.isDirectory(workDir)) {
            try (var entries = Files.list(workDir)) {
                if (entries.findAny().isPresent()) {
                    // its checkpoints and store would belong to another broker's offsets
                    throw new ParameterException(spec.commandLine(), "--work-dir: " + workDir + " is not empty (the demo starts a fresh pipeline)");
                }
            }
        }
        Path cache = modelCache != null ? modelCache : Path.of(System.getProperty("user.home"), ".cache", "qlora-stream", "demo-model");
        return new Demo.Settings(d, bootstrapServers, bootstrapServers == null ? null : schemaRegistryUrl, reportDir, cache,
                workDir, rate, threads, snapshotEvery, seed, dashboardPort, lingerTime,
                KafkaOptions.clientSettings(spec.commandLine(), configFile.file(), env));
    }

    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h)?");

    Duration parseDuration(String option, String text) {
        Matcher m = DURATION.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new ParameterException(spec.commandLine(), option + ": expected e.g. 90s, 5m or 1h, got " + text);
        }
        double v = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        double ms = switch (unit) {
            case "ms" -> v;
            case "m" -> v * 60_000;
            case "h" -> v * 3_600_000;
            default -> v * 1000;
        };
        if (ms < 1000) {
            throw new ParameterException(spec.commandLine(), option + ": must be at least 1s, got " + text);
        }
        return Duration.ofMillis((long) ms);
    }
}
