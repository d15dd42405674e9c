package io.qlorastream.app.ingest;

import io.qlorastream.app.metrics.MetricsEndpoint;
import io.qlorastream.app.metrics.MetricsOptions;

import io.qlorastream.app.cli.KafkaOptions;
import io.qlorastream.ingest.IngestApp;
import io.qlorastream.ingest.IngestConfig;
import io.qlorastream.schemas.OneLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.Callable;

/** {@code qlora-stream ingest}: the Kafka Streams app that turns tickets and reviews into redacted training examples. */
@Command(name = "ingest",
        description = {"Run the ingest Kafka Streams app: support-tickets and code-reviews in; validated, filtered, deduplicated, "
                + "redacted examples out on training-examples / eval-examples (key: adapter name); failures on ingest-dlq.",
                "Ingest settings are qlora.stream.ingest.* keys of the --config file (topics, filters, templates, routes, split)."})
public final class IngestCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    KafkaOptions kafka;

    @Option(names = "--metrics-interval", paramLabel = "SECONDS", defaultValue = "30",
            description = "Print ingest's counters every SECONDS; 0 never (default: ${DEFAULT-VALUE}). They are also on JMX.")
    int metricsInterval;

    @Mixin
    MetricsOptions metrics;

    @Override
    public Integer call() throws Exception {
        try (MetricsEndpoint endpoint = metrics.start("ingest", System.out)) {
            return serve();
        }
    }

    private Integer serve() throws InterruptedException {
        if (metricsInterval < 0) {
            throw new ParameterException(spec.commandLine(), "--metrics-interval: must be 0 or more, got " + metricsInterval);
        }
        Properties client = kafka.clientProperties();
        IngestConfig config = ingestConfig(spec, kafka, client);
        PrintStream out = System.out;
        IngestApp app = ingest(config, client);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            out.println("Stopping ingest...");
            app.close();
            out.println("Ingest stopped. " + app.metrics().snapshot());
            out.flush();
        }, "ingest-shutdown"));
        app.start();
        out.println("Ingest running (application id " + config.applicationId + "): " + config.ticketsTopic + ", " + config.reviewsTopic
                + " -> " + config.trainingTopic + " / " + config.evalTopic + ", dead letters to " + config.dlqTopic + ". Ctrl-C to stop.");
        out.flush();
        while (!app.awaitStop(Duration.ofSeconds(metricsInterval == 0 ? 3600 : metricsInterval))) {
            if (metricsInterval > 0) {
                out.println("ingest " + app.metrics().snapshot());
                out.flush();
            }
        }
        if (app.failure() != null) {
            throw new IllegalStateException("ingest stopped: " + OneLine.of(app.failure()));
        }
        return 0;
    }

    /** The ingest service (a Kafka Streams app) as this command runs it; {@code client} holds the Streams settings. */
    public static IngestApp ingest(IngestConfig config, Properties client) {
        return new IngestApp(config, client);
    }

    /** The ingest settings: the client properties plus the {@code qlora.stream.ingest.*} keys of the --config file. */
    static IngestConfig ingestConfig(CommandSpec spec, KafkaOptions kafka, Properties client) {
        Path file = kafka.configFile();
        Properties all = new Properties();
        if (file != null) {
            try (Reader r = Files.newBufferedReader(file)) {
                all.load(r);
            } catch (IOException | IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--config: cannot read " + file + " (" + OneLine.of(e) + ")");
            }
        }
        all.putAll(client); // resolved flags and environment win over the file
        try {
            return IngestConfig.from(all);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), (file == null ? "" : file + ": ") + e.getMessage());
        }
    }
}
