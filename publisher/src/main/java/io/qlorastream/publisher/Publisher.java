package io.qlorastream.publisher;

import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.events.ReleaseKind;
import io.qlorastream.schemas.kafka.TopicReader;
import io.qlorastream.schemas.service.PollLoopThread;
import io.qlorastream.store.AdapterStore;
import io.qlorastream.store.ArtifactVerificationException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.NoSuchFileException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The publisher service: consumes {@code adapter-evaluations} (group {@code qlora-publisher}), decides with
 * {@link ReleasePolicy} on the state folded from {@code adapter-release-log}, promotes and signs each release, and
 * writes it to {@code adapter-releases} and {@code adapter-release-log} in one Kafka transaction together with the
 * consumed offsets: a release is published and its evaluation consumed, or neither. Each release is its own
 * transaction, and the next evaluation is decided only once the publisher has read its own release back from the log,
 * so two evaluations in one poll never get the same version and a duplicate right behind its original is recognised.
 */
public final class Publisher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Publisher.class);
    private static final Duration IO_TIMEOUT = Duration.ofSeconds(60);

    /** What became of one evaluation. */
    public record Outcome(AdapterEvaluation evaluation, ReleasePolicy.Decision decision, AdapterRelease release) {
        public String line() {
            AdapterEvaluation e = evaluation;
            String what = e.getAdapterName() + " snapshot " + e.getSnapshotId() + " (evaluation " + e.getEvaluationId() + ")";
            if (decision instanceof ReleasePolicy.Decision.Release r) {
                return "released " + e.getAdapterName() + " v" + r.version() + " from snapshot " + e.getSnapshotId() + " -> " + release.getArtifactUri();
            } else if (decision instanceof ReleasePolicy.Decision.Duplicate d) {
                return "duplicate " + what + ": " + d.reason();
            } else {
                return "not released " + what + ": " + ((ReleasePolicy.Decision.Refused) decision).reason();
            }
        }
    }

    private final PublisherConfig config;
    private final Properties client;
    private final Clock clock;
    private final Consumer<Outcome> listener;
    private final ReleasePolicy policy;
    private final SigningKeys keys;
    private final AdapterStore store;
    private final ReleaseArtifacts artifacts;
    private final AtomicLong released = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong duplicates = new AtomicLong();
    private final PublisherMetrics metrics = new PublisherMetrics();
    private final CountDownLatch running = new CountDownLatch(1);
    private final PollLoopThread loop = new PollLoopThread("qlora-publisher", false, LOG, "publisher", this::runLoop,
            () -> {
                metrics.close();
                running.countDown();
            });

    /** Loads (or, first run, generates) the signing keys and opens the store; {@link #start} runs the loop. */
    public Publisher(PublisherConfig config, Properties client, Clock clock, Consumer<Outcome> listener) throws IOException {
        this.config = config;
        this.client = client;
        this.clock = clock;
        this.listener = listener;
        this.policy = new ReleasePolicy(config.minGain(), config.minInterval());
        this.keys = SigningKeys.loadOrGenerate(config.keyDir());
        this.store = AdapterStore.open(config.adapterStore());
        this.artifacts = new ReleaseArtifacts(store);
    }

    public SigningKeys keys() {
        return keys;
    }

    /** Creates missing topics and starts the loop on its own thread. */
    public Publisher start() {
        PublisherTopics.createMissing(client, config);
        loop.start();
        return this;
    }

    /** Waits until the loop has rebuilt its state and subscribed; false on timeout or failure. */
    public boolean awaitRunning(Duration timeout) throws InterruptedException {
        return running.await(timeout.toMillis(), TimeUnit.MILLISECONDS) && loop.failure() == null;
    }

    /** Waits for the loop to end (by {@link #close} or a failure); true if it ended. */
    public boolean awaitStop(Duration timeout) throws InterruptedException {
        return loop.awaitStop(timeout);
    }

    public Throwable failure() {
        return loop.failure();
    }

    public String counters() {
        return "released=" + released.get() + " refused=" + refused.get() + " duplicates=" + duplicates.get();
    }

    private void runLoop() throws Exception {
        Properties consumerProps = KafkaClients.consumer(client, config.groupId());
        consumerProps.put("max.poll.records", "50");
        try (KafkaConsumer<String, AdapterEvaluation> c = new KafkaConsumer<>(consumerProps);
             KafkaProducer<String, AdapterRelease> producer = new KafkaProducer<>(KafkaClients.transactionalProducer(client, config.transactionalId()));
             TopicReader<AdapterRelease> log = KafkaClients.wholeTopic(client, config.releaseLogTopic())) {
            loop.wakeOnClose(c);
            metrics.bindClients(c, producer);
            producer.initTransactions(); // fences a previous instance with the same transactional id, aborts its open transaction
            ReleaseState state = new ReleaseState();
            log.catchUp(r -> apply(state, r), IO_TIMEOUT);
            c.subscribe(List.of(config.evaluationsTopic()));
            running.countDown();
            LOG.info("publisher running: {} adapters in the release log", state.adapters().size());
            while (!loop.stopping()) {
                ConsumerRecords<String, AdapterEvaluation> records;
                try {
                    records = c.poll(Duration.ofMillis(500));
                } catch (WakeupException e) {
                    break;
                } catch (RecordDeserializationException e) {
                    // Not an AdapterEvaluation: skipped (its offset is committed with the next transaction), never fatal.
                    LOG.warn("skipping undecodable record {} at offset {}: {}", e.topicPartition(), e.offset(), String.valueOf(e.getCause() == null ? e.getMessage() : e.getCause().getMessage()));
                    c.seek(e.topicPartition(), e.offset() + 1);
                    continue;
                }
                if (records.isEmpty()) {
                    continue;
                }
                try {
                    processBatch(records, c, producer, log, state);
                } catch (ProducerFencedException | OutOfOrderSequenceException | AuthorizationException e) {
                    throw e; // another instance took over, or the producer cannot go on: stop
                } catch (WakeupException e) {
                    break;
                } catch (KafkaException | IOException | UncheckedIOException | IllegalStateException e) {
                    // The store or the log unreachable for a while: nothing was committed past the last transaction.
                    LOG.warn("transaction aborted, the batch will be retried: {}", e.toString());
                    try {
                        producer.abortTransaction();
                    } catch (KafkaException | IllegalStateException ignored) {
                        // no transaction was open (the failure came before beginTransaction)
                    }
                    rewind(c);
                    sleepQuietly(1000);
                }
            }
        }
    }

    private void processBatch(ConsumerRecords<String, AdapterEvaluation> records, KafkaConsumer<String, AdapterEvaluation> c,
                              KafkaProducer<String, AdapterRelease> producer, TopicReader<AdapterRelease> log, ReleaseState state)
            throws IOException {
        log.catchUp(r -> apply(state, r), IO_TIMEOUT); // rollbacks published meanwhile change the current release
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<String, AdapterEvaluation> rec : records) {
            TopicPartition tp = new TopicPartition(rec.topic(), rec.partition());
            offsets.put(tp, new OffsetAndMetadata(rec.offset() + 1));
            AdapterEvaluation e = rec.value();
            if (e == null) {
                continue;
            }
            Instant now = clock.instant();
            ReleasePolicy.Decision d = policy.decide(e, state.adapter(e.getAdapterName()), now);
            AdapterRelease release = null;
            if (d instanceof ReleasePolicy.Decision.Release r) {
                try {
                    release = prepare(e, r.version(), now);
                    d = new ReleasePolicy.Decision.Release(release.getVersion()); // a number left by an unpublished attempt is skipped
                } catch (ArtifactVerificationException | NoSuchFileException | FileNotFoundException | RefusedException
                         | IllegalArgumentException ex) {
                    d = new ReleasePolicy.Decision.Refused(ex.getMessage());
                }
            }
            if (release != null) {
                producer.beginTransaction();
                producer.send(new ProducerRecord<>(config.releasesTopic(), release.getAdapterName(), release));
                Future<RecordMetadata> inLog = producer.send(new ProducerRecord<>(config.releaseLogTopic(), release.getAdapterName(), release));
                producer.sendOffsetsToTransaction(offsets, c.groupMetadata());
                producer.commitTransaction();
                offsets.clear();
                RecordMetadata meta = get(inLog);
                // Read our own release back before deciding anything else: the state is the log, nothing else.
                log.catchUpPast(new TopicPartition(meta.topic(), meta.partition()), meta.offset(), r -> apply(state, r), IO_TIMEOUT);
                released.incrementAndGet();
                metrics.decision(e.getAdapterName(), "released");
            } else if (d instanceof ReleasePolicy.Decision.Duplicate) {
                duplicates.incrementAndGet();
                metrics.decision(e.getAdapterName(), "duplicate");
            } else {
                refused.incrementAndGet();
                metrics.decision(e.getAdapterName(), "refused");
            }
            Outcome o = new Outcome(e, d, release);
            LOG.info(o.line());
            listener.accept(o);
        }
        if (!offsets.isEmpty()) {
            // The evaluations that made no release are consumed in a transaction of their own (offsets only).
            producer.beginTransaction();
            producer.sendOffsetsToTransaction(offsets, c.groupMetadata());
            producer.commitTransaction();
        }
    }

    /** Thrown for an evaluation that cannot become a release (no URI, or no base model and LoRA config). */
    static final class RefusedException extends Exception {
        RefusedException(String message) {
            super(message);
        }
    }

    private AdapterRelease prepare(AdapterEvaluation e, int version, Instant now) throws IOException, RefusedException {
        URI snapshotUri;
        try {
            snapshotUri = URI.create(e.getArtifactUri());
        } catch (IllegalArgumentException ex) {
            throw new RefusedException("artifact URI " + e.getArtifactUri() + " is not a URI");
        }
        String missing = missingOrigin(e);
        if (missing != null) {
            // written by an evaluator that does not fill them: refused rather than signing a release whose base model
            // or LoRA config nothing vouches for; the adapter's next verdict that carries them is released
            throw new RefusedException("evaluation " + e.getEvaluationId() + " carries no " + missing
                    + ": a release names the base model and LoRA config the evaluation judged");
        }
        AdapterRelease r = draft(e, version, now, keys);
        artifacts.promote(r, snapshotUri, e.getArtifactSha256(), keys);
        return r;
    }

    /** The fields of the judged snapshot's origin that the evaluation lacks ("base_model_name, lora_config"), or null. */
    static String missingOrigin(AdapterEvaluation e) {
        List<String> missing = new ArrayList<>();
        if (e.getBaseModelName() == null) {
            missing.add("base_model_name");
        }
        if (e.getBaseModelHash() == null) {
            missing.add("base_model_hash");
        }
        if (e.getLoraConfig() == null) {
            missing.add("lora_config");
        }
        return missing.isEmpty() ? null : String.join(", ", missing);
    }

    /**
     * A release of an evaluated snapshot, complete but for what {@link ReleaseArtifacts#promote} sets: artifact URI,
     * hashes and signature; the base model and LoRA config are the evaluation's. Public for tools and tests that
     * write releases themselves.
     */
    public static AdapterRelease draft(AdapterEvaluation e, int version, Instant now, SigningKeys keys) {
        return AdapterRelease.newBuilder()
                .setAdapterName(e.getAdapterName())
                .setVersion(version)
                .setKind(ReleaseKind.RELEASE)
                .setRolledBackFromVersion(null)
                .setSnapshotId(e.getSnapshotId())
                .setEvaluationId(e.getEvaluationId())
                .setArtifactUri("")
                .setArtifactSha256(Map.of())
                .setSignature("")
                .setPublicKeyId(keys.keyId())
                .setPublicKey(keys.publicKeyBase64())
                .setBaseModelName(e.getBaseModelName())
                .setBaseModelHash(e.getBaseModelHash())
                .setLoraConfig(e.getLoraConfig())
                .setMetrics(new TreeMap<>(e.getMetrics()))
                .setReleasedAt(Instant.ofEpochMilli(now.toEpochMilli()))
                .build();
    }

    private void apply(ReleaseState state, ConsumerRecord<String, AdapterRelease> r) {
        applyRecord(state, r);
        if (r.value() != null) {
            metrics.logRecord(r.value());
        }
    }

    static void applyRecord(ReleaseState state, ConsumerRecord<String, AdapterRelease> r) {
        if (r.value() != null) {
            state.apply(r.value());
        }
    }

    private static RecordMetadata get(Future<RecordMetadata> f) {
        try {
            return f.get(); // already complete: the transaction committed
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("interrupted", e);
        } catch (ExecutionException e) {
            throw new KafkaException(e.getCause());
        }
    }

    /** Back to the last committed offsets, so an aborted batch is consumed again. */
    private static void rewind(KafkaConsumer<String, AdapterEvaluation> c) {
        Set<TopicPartition> assigned = c.assignment();
        Map<TopicPartition, OffsetAndMetadata> committed = c.committed(assigned);
        for (TopicPartition tp : assigned) {
            OffsetAndMetadata om = committed.get(tp);
            if (om == null) {
                c.seekToBeginning(List.of(tp));
            } else {
                c.seek(tp, om.offset());
            }
        }
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the loop and waits for it (a transaction in flight completes or aborts first). */
    @Override
    public void close() {
        loop.close();
        try {
            store.close();
        } catch (Exception e) {
            LOG.debug("closing the store: {}", e.toString());
        }
    }
}
