package io.qlorastream.app.publisher;

import io.qlorastream.app.metrics.MetricsEndpoint;
import io.qlorastream.app.metrics.MetricsOptions;

import io.qlorastream.app.cli.KafkaOptions;
import io.qlorastream.app.cli.TopicOptions;
import io.qlorastream.publisher.Publisher;
import io.qlorastream.publisher.PublisherConfig;
import io.qlorastream.publisher.SigningKeys;
import io.qlorastream.schemas.contract.ConsumerGroups;
import io.qlorastream.schemas.contract.Topic;
import io.qlorastream.schemas.OneLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/** {@code qlora-stream publisher}: promotes passing evaluations to signed releases. */
@Command(name = "publisher",
        description = {"Run the publisher: each passing evaluation on adapter-evaluations that meets the release policy becomes the "
                + "adapter's next version, copied to <adapter>/releases/v<N>/ in the adapter store (verified by SHA-256), signed with "
                + "Ed25519 and published on adapter-releases (compacted) and adapter-release-log in one Kafka transaction with the "
                + "consumed offsets.",
                "The signing key pair is read from --key-dir (release-signing.key, release-signing.pub), generated on first run."})
public final class PublisherCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    KafkaOptions kafka;

    @Mixin
    TopicOptions topics = new TopicOptions(Topic.ADAPTER_EVALUATIONS, Topic.ADAPTER_RELEASES,
            Topic.ADAPTER_RELEASE_LOG);

    @Option(names = "--adapter-store", paramLabel = "LOCATION", defaultValue = "./adapter-store",
            description = "Adapter store: a directory, file: URI or s3://bucket/prefix (default: ${DEFAULT-VALUE}).")
    String adapterStore;

    @Option(names = "--key-dir", paramLabel = "DIR", defaultValue = "./publisher-keys",
            description = "Directory of the Ed25519 signing key pair; created with a new pair when absent (default: ${DEFAULT-VALUE}).")
    Path keyDir;

    @Option(names = "--min-gain", paramLabel = "NATS", defaultValue = "0",
            description = "Least NLL gain per target token over the current release (current_release_nll - candidate_nll) "
                    + "(default: ${DEFAULT-VALUE}).")
    double minGain;

    @Option(names = "--min-interval", paramLabel = "SECONDS", defaultValue = "0",
            description = "Least time between two releases of one adapter (default: ${DEFAULT-VALUE}).")
    long minIntervalSeconds;

    @Option(names = "--group-id", paramLabel = "ID", defaultValue = ConsumerGroups.PUBLISHER,
            description = "Consumer group (default: ${DEFAULT-VALUE}).")
    String groupId;

    @Option(names = "--transactional-id", paramLabel = "ID",
            description = "Transactional id of this instance: stable across its restarts (a restarted instance fences its "
                    + "predecessor), different per instance when several share the partitions (default: qlora-publisher-<host name>).")
    String transactionalId;

    @Option(names = "--partitions", paramLabel = "N", defaultValue = "3",
            description = "Partitions of the topics created when missing (default: ${DEFAULT-VALUE}).")
    int partitions;

    @Option(names = "--replication-factor", paramLabel = "N", defaultValue = "1",
            description = "Replication factor of the topics created when missing (default: ${DEFAULT-VALUE}).")
    short replicationFactor;

    @Mixin
    MetricsOptions metrics;

    @Override
    public Integer call() throws Exception {
        try (MetricsEndpoint endpoint = metrics.start("publisher", System.out)) {
            return serve();
        }
    }

    private Integer serve() throws Exception {
        if (minIntervalSeconds < 0) {
            throw new ParameterException(spec.commandLine(), "--min-interval: must be 0 or more, got " + minIntervalSeconds);
        }
        if (partitions < 1 || replicationFactor < 1) {
            throw new ParameterException(spec.commandLine(), "--partitions and --replication-factor must be at least 1");
        }
        if (Double.isNaN(minGain)) {
            throw new ParameterException(spec.commandLine(), "--min-gain: not a number");
        }
        String txId = transactionalId != null ? transactionalId : ConsumerGroups.PUBLISHER + "-" + hostName();
        PublisherConfig config = new PublisherConfig(topics.name(Topic.ADAPTER_EVALUATIONS),
                topics.name(Topic.ADAPTER_RELEASES), topics.name(Topic.ADAPTER_RELEASE_LOG), groupId, txId,
                adapterStore, keyDir, minGain, Duration.ofSeconds(minIntervalSeconds), partitions, replicationFactor);
        Properties client = kafka.clientProperties();
        PrintStream out = System.out;
        Publisher publisher = publisher(config, client, o -> {
            out.println(o.line());
            out.flush();
        });
        SigningKeys keys = publisher.keys();
        if (keys.generated()) {
            out.println("Generated a new Ed25519 signing key pair in " + keyDir + " (give subscribers "
                    + keyDir.resolve(SigningKeys.PUBLIC_KEY_FILE) + " as --trusted-key)");
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            out.println("Stopping publisher...");
            publisher.close();
            out.println("Publisher stopped. " + publisher.counters());
            out.flush();
        }, "publisher-shutdown"));
        publisher.start();
        if (!publisher.awaitRunning(Duration.ofMinutes(2))) {
            throw new IllegalStateException("publisher did not start: " + (publisher.failure() == null ? "timeout" : OneLine.of(publisher.failure())));
        }
        out.println("Publisher running (group " + groupId + "): " + config.evaluationsTopic() + " -> " + config.releasesTopic() + " / " + config.releaseLogTopic()
                + ", store " + adapterStore + ", signing key " + keys.keyId() + ". Ctrl-C to stop.");
        out.flush();
        publisher.awaitStop(Duration.ofDays(36500));
        if (publisher.failure() != null) {
            throw new IllegalStateException("publisher stopped: " + OneLine.of(publisher.failure()));
        }
        return 0;
    }

    /** The publisher service as this command runs it; {@code onOutcome} hears what became of each evaluation. */
    public static Publisher publisher(PublisherConfig config, Properties client, Consumer<Publisher.Outcome> onOutcome)
            throws IOException {
        return new Publisher(config, client, Clock.systemUTC(), onOutcome);
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            return "localhost";
        }
    }
}
