package io.qlorastream.ingest;

import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The ingest service: creates the missing output topics, then runs {@link IngestTopology} in Kafka Streams until
 * closed. A fatal stream-thread error shuts the client down (no silent half-running state).
 */
public final class IngestApp implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(IngestApp.class);

    private final IngestConfig config;
    private final Properties client;
    private final IngestMetrics metrics;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private KafkaStreams streams;
    private KafkaStreamsMetrics streamsMetrics;
    private volatile Throwable failure;

    /** {@code client}: Kafka client settings (bootstrap servers, security, state.dir, any streams setting). */
    public IngestApp(IngestConfig config, Properties client) {
        this.config = config;
        this.client = client;
        this.metrics = IngestMetrics.of(config.applicationId);
    }

    public synchronized IngestApp start() {
        List<String> created = IngestTopics.createMissing(client, config, false);
        if (!created.isEmpty()) {
            LOG.info("created topics {}", created);
        }
        try {
            for (String problem : IngestTopics.inputLimitProblems(client, config)) {
                LOG.warn(problem); // upstream's topics: ingest says so and runs, it does not reconfigure them
            }
        } catch (IllegalStateException e) {
            // a principal without DescribeConfigs on the inputs can still run ingest: the check is advice only
            LOG.warn("could not check max.message.bytes of the input topics: {}", e.getMessage());
        }
        streams = new KafkaStreams(IngestTopology.build(config), IngestTopology.streamsProperties(config, client));
        streams.setUncaughtExceptionHandler(e -> {
            failure = e;
            LOG.error("ingest stream thread failed: {}", e.toString());
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        streams.setStateListener((now, before) -> {
            if (now == KafkaStreams.State.NOT_RUNNING || now == KafkaStreams.State.ERROR) {
                stopped.countDown();
            }
        });
        // Kafka Streams' own metrics (and its clients') next to ours, on the registry the app scrapes
        streamsMetrics = new KafkaStreamsMetrics(streams, Tags.of("application", config.applicationId));
        streamsMetrics.bindTo(Metrics.globalRegistry);
        streams.start();
        return this;
    }

    /** Waits until the app runs (partitions assigned), fails, or the timeout passes; true when running. */
    public boolean awaitRunning(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            KafkaStreams.State s = streams.state();
            if (s == KafkaStreams.State.RUNNING) {
                return true;
            }
            if (s == KafkaStreams.State.ERROR || s == KafkaStreams.State.NOT_RUNNING || s == KafkaStreams.State.PENDING_ERROR) {
                return false;
            }
            Thread.sleep(50);
        }
        return false;
    }

    /** Blocks until the app stops; true if it stopped within the timeout. */
    public boolean awaitStop(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    public KafkaStreams.State state() {
        return streams == null ? KafkaStreams.State.CREATED : streams.state();
    }

    public Throwable failure() {
        return failure;
    }

    public IngestMetrics metrics() {
        return metrics;
    }

    public IngestConfig config() {
        return config;
    }

    /** Closes cleanly: the open transaction is committed, so a later start resumes exactly after it. */
    @Override
    public synchronized void close() {
        if (streams != null) {
            streams.close(Duration.ofSeconds(60));
            stopped.countDown();
        }
        if (streamsMetrics != null) {
            streamsMetrics.close();
        }
    }
}
