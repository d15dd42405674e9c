package io.qlorastream.evaluator;

import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.events.TrainingExample;
import io.qlorastream.schemas.kafka.Consumers;
import io.qlorastream.schemas.kafka.TopicReader;
import io.qlorastream.schemas.serde.AvroDeserializer;
import io.qlorastream.schemas.serde.AvroSerdeConfig;
import io.qlorastream.schemas.serde.AvroSerializer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.apache.commons.io.file.PathUtils;
import org.slf4j.LoggerFactory;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The evaluator as a Kafka service: consume-transform-produce from {@code adapter-snapshots} to
 * {@code adapter-evaluations}, exactly once. For each snapshot: the held-out set, current release and judged
 * snapshots are caught up from their topics; the artifact is fetched and verified; it is scored (outside any
 * transaction, which would otherwise time out); then one transaction writes the verdict and commits the snapshot's
 * offset ({@code sendOffsetsToTransaction} with the group's metadata, so a zombie of a rebalanced instance is fenced).
 * A crash before the commit leaves neither verdict nor offset (read_committed readers never see the aborted
 * verdict) and the snapshot is judged again; after it, the offset is committed. A snapshot id already on
 * {@code adapter-evaluations} (an event the trainer re-sent) is skipped, its offset committed.
 */
public final class EvaluatorService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EvaluatorService.class);
    private static final Duration CATCH_UP_TIMEOUT = Duration.ofSeconds(60);

    /** What the service tells its operator. */
    public interface Listener {
        default void onReady(int judgedSnapshots, long evalExamples) {
        }

        default void onEvaluation(AdapterEvaluation evaluation) {
        }

        default void onSkipped(String adapter, String snapshotId, String why) {
        }

        default void onProgress(String adapter, String snapshotId, String stage, int done, int total) {
        }
    }

    /** A test seam: runs inside the verdict's transaction, just before it commits. */
    interface BeforeCommit {
        void run(AdapterEvaluation evaluation);
    }

    private final EvaluatorConfig config;
    private final Properties client;
    private final SnapshotEvaluator evaluator;
    private final ArtifactFetcher fetcher;
    private final Listener listener;
    private final HeldOutSet.PerAdapter heldOut;
    private final Map<String, AdapterRelease> releases = new HashMap<>();
    private final Set<String> judged = new HashSet<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean closing;
    private volatile Throwable failure;
    private BeforeCommit beforeCommit = e -> { };
    private KafkaConsumer<String, byte[]> consumer;
    private EvaluatorMetrics metrics;
    private long evalExamplesRead;

    public EvaluatorService(EvaluatorConfig config, Properties client, SnapshotEvaluator evaluator, ArtifactFetcher fetcher, Listener listener) {
        this.config = config;
        this.client = client;
        this.evaluator = evaluator;
        this.fetcher = fetcher;
        this.listener = listener;
        this.heldOut = new HeldOutSet.PerAdapter(config.heldOutSize());
    }

    void beforeCommit(BeforeCommit hook) {
        this.beforeCommit = hook;
    }

    /** Runs until {@link #close()}: on the calling thread. Throws what stopped it, if anything did. */
    public void run() throws Exception {
        Files.createDirectories(config.workDir());
        Map<String, Object> serde = new HashMap<>();
        client.forEach((k, v) -> serde.put((String) k, v));
        serde.put(AvroSerdeConfig.SPECIFIC_AVRO_READER, true);
        AvroDeserializer<AdapterSnapshot> snapshots = new AvroDeserializer<AdapterSnapshot>().configured(serde, false);
        AvroDeserializer<TrainingExample> examples = new AvroDeserializer<TrainingExample>().configured(serde, false);
        AvroDeserializer<AdapterRelease> releaseSerde = new AvroDeserializer<AdapterRelease>().configured(serde, false);
        AvroDeserializer<AdapterEvaluation> evaluations = new AvroDeserializer<AdapterEvaluation>().configured(serde, false);
        AvroSerializer<AdapterEvaluation> out = new AvroSerializer<>();
        out.configure(serde, false);

        Properties cp = Consumers.readCommitted(client, config.groupId());
        cp.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "1"); // one evaluation between polls: minutes, not milliseconds
        cp.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, Long.toString(config.maxPollInterval().toMillis()));
        Properties pp = new Properties();
        pp.putAll(client);
        pp.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, config.transactionalId());
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        pp.put(ProducerConfig.ACKS_CONFIG, "all");

        try (TopicReader<byte[]> exampleReader = stateReader(config.evalExamplesTopic());
             TopicReader<byte[]> releaseReader = stateReader(config.releasesTopic());
             TopicReader<byte[]> verdictReader = stateReader(config.evaluationsTopic());
             KafkaProducer<String, AdapterEvaluation> producer = new KafkaProducer<>(pp, new StringSerializer(), out);
             KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(cp, new StringDeserializer(), new ByteArrayDeserializer());
             EvaluatorMetrics m = new EvaluatorMetrics()) {
            consumer = c;
            metrics = m;
            m.bindClients(c, producer);
            if (closing) {
                return;
            }
            // fences an earlier incarnation with this transactional id and aborts its open transaction, if any
            producer.initTransactions();
            catchUp(exampleReader, releaseReader, verdictReader, examples, releaseSerde, evaluations);
            listener.onReady(judged.size(), evalExamplesRead);
            c.subscribe(List.of(config.snapshotsTopic()));
            while (!closing) {
                for (ConsumerRecord<String, byte[]> r : c.poll(config.pollTimeout())) {
                    if (closing) {
                        break;
                    }
                    handle(r, snapshots, producer, exampleReader, releaseReader, verdictReader, examples, releaseSerde, evaluations);
                }
            }
        } catch (WakeupException | CancellationException e) {
            if (!closing) {
                throw e;
            }
        } catch (Exception | Error e) {
            failure = e;
            throw e;
        } finally {
            stopped.countDown();
        }
    }

    /**
     * A reader of state every instance rebuilds at start (held-out sets, current releases, judged snapshots): the whole
     * topic, no group; committed records only, so verdicts of aborted or open transactions are never seen.
     */
    private TopicReader<byte[]> stateReader(String topic) {
        Properties p = Consumers.readCommitted(client, null);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "qlora-evaluator-state-" + topic);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        return TopicReader.of(p, List.of(topic));
    }

    private void catchUp(TopicReader<byte[]> exampleReader, TopicReader<byte[]> releaseReader, TopicReader<byte[]> verdictReader,
                         AvroDeserializer<TrainingExample> examples, AvroDeserializer<AdapterRelease> releaseSerde,
                         AvroDeserializer<AdapterEvaluation> evaluations) {
        verdictReader.catchUp(r -> {
            AdapterEvaluation e = decode(evaluations, r);
            if (e != null) {
                judged.add(key(e.getAdapterName(), e.getSnapshotId()));
            }
        }, CATCH_UP_TIMEOUT);
        evalExamplesRead += exampleReader.catchUp(r -> {
            TrainingExample t = decode(examples, r);
            if (t != null) {
                heldOut.offer(t.getAdapterName(), new HeldOutExample(t.getExampleId(), t.getPrompt(), t.getResponse()));
            }
        }, CATCH_UP_TIMEOUT);
        releaseReader.catchUp(r -> {
            if (r.value() == null) {
                releases.remove(r.key()); // a tombstone: the adapter has no current release
                return;
            }
            AdapterRelease rel = decode(releaseSerde, r);
            if (rel != null) {
                releases.put(rel.getAdapterName(), rel);
            }
        }, CATCH_UP_TIMEOUT);
    }

    /** A record that cannot be decoded is logged and left out of the state, never fatal. */
    private static <T> T decode(AvroDeserializer<T> d, ConsumerRecord<String, byte[]> r) {
        try {
            return d.deserialize(r);
        } catch (RuntimeException e) {
            LOG.warn("skipping undecodable record {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), e.getMessage());
            return null;
        }
    }

    private void handle(ConsumerRecord<String, byte[]> r, AvroDeserializer<AdapterSnapshot> snapshots,
                        KafkaProducer<String, AdapterEvaluation> producer, TopicReader<byte[]> exampleReader,
                        TopicReader<byte[]> releaseReader, TopicReader<byte[]> verdictReader, AvroDeserializer<TrainingExample> examples,
                        AvroDeserializer<AdapterRelease> releaseSerde, AvroDeserializer<AdapterEvaluation> evaluations) throws IOException {
        AdapterSnapshot s = decode(snapshots, r);
        if (s == null) {
            listener.onSkipped(r.key(), "?", "undecodable snapshot event at " + r.topic() + "-" + r.partition() + "@" + r.offset());
            commit(producer, r, null);
            return;
        }
        catchUp(exampleReader, releaseReader, verdictReader, examples, releaseSerde, evaluations);
        if (judged.contains(key(s.getAdapterName(), s.getSnapshotId()))) {
            listener.onSkipped(s.getAdapterName(), s.getSnapshotId(), "already judged (a verdict is on " + config.evaluationsTopic() + ")");
            commit(producer, r, null);
            return;
        }
        long started = System.nanoTime();
        AdapterEvaluation verdict = judge(s);
        commit(producer, r, verdict);
        metrics.recorded(verdict, System.nanoTime() - started);
        judged.add(key(s.getAdapterName(), s.getSnapshotId()));
        listener.onEvaluation(verdict);
    }

    private AdapterEvaluation judge(AdapterSnapshot s) throws IOException {
        HeldOutSet.Frozen set = heldOut.freeze(s.getAdapterName());
        AdapterRelease current = releases.get(s.getAdapterName());
        Path dir = Files.createTempDirectory(config.workDir(), "snapshot-");
        Path releaseDir = null;
        try {
            SnapshotEvaluator.Candidate candidate = SnapshotEvaluator.Candidate.of(s, dir);
            Integer releaseVersion = current == null ? null : current.getVersion();
            if (s.getArtifactSha256().isEmpty()) {
                // nothing to verify against: never load such files (the offline command may, the service may not)
                return evaluator.rejectedArtifact(candidate, set, releaseVersion,
                        "the snapshot event carries no artifact_sha256, so its files cannot be verified");
            }
            try {
                fetchWithRetries(URI.create(s.getArtifactUri()), s.getArtifactSha256(), dir);
            } catch (ArtifactFetcher.Rejected e) {
                return evaluator.rejectedArtifact(candidate, set, releaseVersion, e.getMessage());
            } catch (NoSuchFileException | FileNotFoundException | IllegalArgumentException e) {
                // the artifact is not there (deleted, or a bad URI): a verdict, or the service would stop on it forever
                return evaluator.unavailableArtifact(candidate, set, releaseVersion, e.getClass().getSimpleName() + ": " + e.getMessage());
            }
            SnapshotEvaluator.Release release = null;
            if (current != null) {
                releaseDir = Files.createTempDirectory(config.workDir(), "release-");
                String problem = null;
                try {
                    fetcher.fetch(URI.create(current.getArtifactUri()), current.getArtifactSha256(), releaseDir);
                } catch (IOException | IllegalArgumentException e) {
                    problem = "fetching " + current.getArtifactUri() + " failed: " + e.getMessage();
                }
                release = new SnapshotEvaluator.Release(current.getVersion(), releaseDir, current.getArtifactSha256(), problem);
            }
            return evaluator.evaluate(candidate, set, release, (stage, done, total) -> {
                if (closing) {
                    throw new CancellationException("evaluator stopping");
                }
                listener.onProgress(s.getAdapterName(), s.getSnapshotId(), stage, done, total);
            });
        } finally {
            deleteTree(dir);
            if (releaseDir != null) {
                deleteTree(releaseDir);
            }
        }
    }

    /**
     * Fetches, retrying other I/O failures (a store that is briefly unreachable) with backoff; what still fails after
     * that stops the service without a verdict, so the snapshot is judged after the restart.
     */
    private void fetchWithRetries(URI uri, Map<String, String> sha, Path dir) throws IOException {
        long backoffMs = 1000;
        for (int attempt = 1; ; attempt++) {
            try {
                fetcher.fetch(uri, sha, dir);
                return;
            } catch (ArtifactFetcher.Rejected | NoSuchFileException | FileNotFoundException e) {
                throw e;
            } catch (IOException e) {
                if (attempt >= 4 || closing) {
                    throw new IOException("cannot fetch " + uri + " after " + attempt + " attempts: " + e.getMessage(), e);
                }
                LOG.warn("fetching {} failed ({}), retrying in {} ms", uri, e.getMessage(), backoffMs);
                try (Stream<Path> partial = Files.list(dir)) {
                    for (Path p : (Iterable<Path>) partial::iterator) {
                        Files.deleteIfExists(p);
                    }
                }
                try {
                    Thread.sleep(backoffMs);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while fetching " + uri, ie);
                }
                backoffMs *= 4;
            }
        }
    }

    /** One transaction: the verdict (if any) and the snapshot's offset, atomically. */
    private void commit(KafkaProducer<String, AdapterEvaluation> producer, ConsumerRecord<String, byte[]> r, AdapterEvaluation verdict) {
        producer.beginTransaction();
        try {
            if (verdict != null) {
                producer.send(new ProducerRecord<>(config.evaluationsTopic(), verdict.getAdapterName(), verdict));
                beforeCommit.run(verdict);
            }
            producer.sendOffsetsToTransaction(Map.of(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1)),
                    consumer.groupMetadata());
            producer.commitTransaction();
        } catch (RuntimeException e) {
            try {
                producer.abortTransaction();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed); // fenced: nothing to abort from here, the broker aborts it
            }
            throw e;
        }
    }

    private static String key(String adapter, String snapshotId) {
        return adapter + "\u0000" + snapshotId;
    }

    private static void deleteTree(Path dir) {
        try {
            PathUtils.delete(dir);
        } catch (IOException e) {
            LOG.warn("could not delete {}: {}", dir, e.getMessage());
        }
    }

    /** Why {@link #run()} stopped, when it failed. */
    public Throwable failure() {
        return failure;
    }

    /** Asks {@link #run()} to stop: an evaluation in progress is abandoned, uncommitted (judged again on restart). */
    @Override
    public void close() {
        closing = true;
        KafkaConsumer<String, byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
    }

    /** Waits for {@link #run()} to return after {@link #close()}. */
    public boolean awaitStopped(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }
}
