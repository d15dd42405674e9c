package io.qlorastream.app.bench;

import io.qlorastream.app.cli.ConfigFileOption;
import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.ingest.IngestBenchmark;
import io.qlorastream.ingest.IngestConfig;
import io.qlorastream.schemas.OneLine;
import io.qlorastream.schemas.registry.server.EmbeddedSchemaRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.Callable;

/** {@code qlora-stream bench ingest}: the ingest topology against a plain copy on an embedded broker, and redaction alone. */
@Command(name = "ingest",
        description = "On an embedded broker and registry: N sample events through the full ingest topology and through a plain "
                + "consumer->producer copy (plain, and exactly-once); prints events/s of each and the ratios, then the redaction library alone in MB/s. "
                + "Keys of --config apply to the topology: qlora.stream.ingest.* settings and Kafka Streams settings.")
public final class BenchIngestCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ConfigFileOption configFile;

    @Option(names = "--events", paramLabel = "N", defaultValue = "200000",
            description = "Sample events; enough that the topology's start-up (tasks restoring their stores) is a small "
                    + "part of a round (default: ${DEFAULT-VALUE}).")
    int events;

    @Option(names = "--rounds", paramLabel = "N", defaultValue = "" + IngestBenchmark.TIMED_ROUNDS,
            description = "Timed rounds after the warm-up; the medians are printed (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "Sample seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--warmup", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "First untimed rounds over the same events until the JIT is nearly done compiling, so both "
                    + "sides are timed warm; --no-warmup times a cold start (default: on).")
    boolean warmup;

    @Option(names = "--max-warmup-rounds", paramLabel = "N", defaultValue = "" + IngestBenchmark.MAX_WARMUP_ROUNDS,
            description = "Most warm-up rounds; warm-up stops earlier after a round in which the JIT compiled for under "
                    + "10%% of its time (default: ${DEFAULT-VALUE}).")
    int maxWarmupRounds;

    @Option(names = "--redact-mb", paramLabel = "MB", defaultValue = "100", description = "Megabytes of text for the redaction measurement (default: ${DEFAULT-VALUE}).")
    int redactMb;

    /**
     * The --config file's keys, for the topology: qlora.stream.ingest.* settings and Kafka Streams settings
     * ({@code processing.guarantee}, {@code num.stream.threads}...), so the cost of a setting can be measured.
     */
    private Properties settings() {
        Properties p = new Properties();
        Path file = spec.findOption("--config").getValue();
        if (file != null) {
            try (Reader r = Files.newBufferedReader(file)) {
                p.load(r);
            } catch (IOException | IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--config: cannot read " + file + " (" + OneLine.of(e) + ")");
            }
            try {
                IngestConfig.from(p); // a bad ingest setting is a usage error before any broker starts
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), file + ": " + e.getMessage());
            }
        }
        return p;
    }

    @Override
    public Integer call() throws Exception {
        if (events < 10) {
            throw new ParameterException(spec.commandLine(), "--events: at least 10, got " + events);
        }
        if (maxWarmupRounds < 1) {
            throw new ParameterException(spec.commandLine(), "--max-warmup-rounds: at least 1 (--no-warmup for none), got " + maxWarmupRounds);
        }
        if (rounds < 1) {
            throw new ParameterException(spec.commandLine(), "--rounds: at least 1, got " + rounds);
        }
        if (redactMb < 1) {
            throw new ParameterException(spec.commandLine(), "--redact-mb: at least 1, got " + redactMb);
        }
        Properties settings = settings();
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().port(0).build().start();
             EmbeddedSchemaRegistry registry = EmbeddedSchemaRegistry.builder().bootstrapServers(broker.bootstrapServers()).port(0).build().start()) {
            Properties client = new Properties();
            client.put("bootstrap.servers", broker.bootstrapServers());
            client.put("schema.registry.url", registry.url());
            IngestBenchmark.Result r = IngestBenchmark.run(client, events, warmup ? maxWarmupRounds : 0, rounds, seed,
                    redactMb * 1_000_000L, settings, System.err);
            System.out.println(r);
        }
        return 0;
    }
}
