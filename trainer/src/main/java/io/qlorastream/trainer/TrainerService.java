package io.qlorastream.trainer;

import io.qlorastream.engine.train.StepTrainer;
import io.qlorastream.schemas.kafka.Consumers;
import io.qlorastream.schemas.OneLine;
import io.qlorastream.redact.Redactor;
import io.qlorastream.store.AdapterStore;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The live trainer: a member of consumer group {@code qlora-trainer} on training-examples that trains one lane per
 * (partition, adapter) over the shared base, checkpoints partitions with their next offsets, commits offsets only
 * after a checkpoint is durable, snapshots adapters into the store and announces them on adapter-snapshots, and
 * sends untrainable records to trainer-dlq. Kafka's group protocol spreads partitions over instances; on
 * assignment an instance restores the partition's newest checkpoint (from the shared {@code --checkpoint-dir}) and
 * seeks to its offset, ignoring the committed one, so a crash at any instant loses no example and trains none twice.
 *
 * <p>One thread polls and trains; {@link #requestStop} (a SIGTERM hook) makes it finish the step in progress,
 * checkpoint every owned partition, commit and leave the group.
 */
public final class TrainerService implements Runnable, AutoCloseable {
    public static final String HEADER_REASON = "trainer.error.reason";
    public static final String HEADER_DETAIL = "trainer.error.detail";
    private static final Redactor DETAIL_REDACTOR = new Redactor();
    public static final String HEADER_TOPIC = "trainer.error.topic";
    public static final String HEADER_PARTITION = "trainer.error.partition";
    public static final String HEADER_OFFSET = "trainer.error.offset";

    private final TrainingCore core;
    private final TrainerConfig config;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final KafkaProducer<byte[], byte[]> producer;
    private final ExampleDecoding decoding;
    private final SnapshotWriter snapshots;
    private final PrintStream out;
    private final TrainerMetrics metrics;
    /** Owned partitions: next offset to read and the lanes they feed. */
    private final Map<Integer, PartitionState> partitions = new LinkedHashMap<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean stopRequested;
    private final java.util.concurrent.atomic.AtomicReference<Exception> deadLetterFailure = new java.util.concurrent.atomic.AtomicReference<>();
    private long lastStatusNanos = System.nanoTime();
    private volatile StepListener stepListener = StepListener.NONE;

    /**
     * What the training loop did, for a live view in the same process (the demo's status block and loss curves);
     * called on the training thread right after each step and each snapshot, so it must be quick and not throw.
     */
    public interface StepListener {
        StepListener NONE = new StepListener() {
        };

        /** One optimizer step of an adapter's lane: its step number, mean loss and the lane's recent tokens/s. */
        default void onStep(String adapter, int partition, long step, double loss, double tokensPerSecond) {
        }

        /** A snapshot was stored and announced on the snapshots topic. */
        default void onSnapshot(io.qlorastream.events.AdapterSnapshot snapshot) {
        }
    }

    static final class PartitionState {
        final int partition;
        /** The group generation this member was assigned the partition in: its checkpoints' fencing epoch. */
        final int epoch;
        long nextOffset;
        final Map<String, AdapterLane> lanes = new LinkedHashMap<>();
        boolean checkpointDue;
        boolean dirty; // read past the last checkpoint

        PartitionState(int partition, int epoch, long nextOffset) {
            this.partition = partition;
            this.epoch = epoch;
            this.nextOffset = nextOffset;
        }
    }

    public TrainerService(TrainingCore core, TrainerConfig config, Properties client, AdapterStore store, PrintStream out) throws IOException {
        this.core = core;
        this.config = config;
        this.out = out;
        Map<String, Object> serde = new HashMap<>();
        client.stringPropertyNames().forEach(k -> serde.put(k, client.getProperty(k)));
        String registry = client.getProperty("schema.registry.url");
        Properties c = Consumers.readCommitted(client, config.groupId());
        c.putIfAbsent(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "100");
        Properties p = new Properties();
        p.putAll(client);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        this.consumer = new KafkaConsumer<>(filtered(c, true), new ByteArrayDeserializer(), new ByteArrayDeserializer());
        this.producer = new KafkaProducer<>(filtered(p, false), new ByteArraySerializer(), new ByteArraySerializer());
        this.decoding = new ExampleDecoding(core, registry, serde);
        Files.createDirectories(config.checkpointDir());
        this.snapshots = new SnapshotWriter(core, store, producer, serde, config.snapshotsTopic(), config.examplesTopic(),
                config.checkpointDir());
        this.metrics = new TrainerMetrics(config.groupId() + "-" + UUID.randomUUID().toString().substring(0, 8));
        metrics.bindClients(consumer, producer);
    }

    /** Kafka clients warn about keys they do not know: hand each only client settings. */
    private static Properties filtered(Properties p, boolean consumer) {
        Properties out = new Properties();
        var known = consumer ? ConsumerConfig.configNames() : ProducerConfig.configNames();
        p.stringPropertyNames().stream().filter(known::contains).forEach(k -> out.put(k, p.getProperty(k)));
        return out;
    }

    public TrainerMetrics metrics() {
        return metrics;
    }

    /** Sets the listener of steps and snapshots (replacing the previous one); before {@link #run} or while it runs. */
    public TrainerService stepListener(StepListener listener) {
        this.stepListener = listener == null ? StepListener.NONE : listener;
        return this;
    }

    /** Asks the loop to finish its step, checkpoint, commit and return; safe from any thread (a shutdown hook). */
    public void requestStop() {
        stopRequested = true;
        consumer.wakeup();
    }

    /** Waits until {@link #run} has checkpointed and left the group. */
    public boolean awaitStopped(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void run() {
        try {
            consumer.subscribe(List.of(config.examplesTopic()), new Listener());
            while (!stopRequested) {
                ConsumerRecords<byte[], byte[]> records;
                try {
                    records = consumer.poll(Duration.ofMillis(200));
                } catch (WakeupException e) {
                    break;
                }
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    route(r);
                }
                flushQuietLanes();
                checkpointDue(false);
                status(false);
            }
            checkpointDue(true);
            status(true);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            consumer.close(Duration.ofSeconds(30)); // leaves the group: the partitions move at once
            producer.close(Duration.ofSeconds(30));
            metrics.close();
            stopped.countDown();
        }
    }

    @Override
    public void close() throws InterruptedException {
        requestStop();
        awaitStopped(Duration.ofSeconds(60));
    }

    private void route(ConsumerRecord<byte[], byte[]> r) throws IOException {
        PartitionState ps = partitions.get(r.partition());
        if (ps == null || r.offset() < ps.nextOffset) {
            return; // not ours, or before the checkpoint's offset (a fetch that raced the seek)
        }
        ps.nextOffset = r.offset() + 1;
        ps.dirty = true;
        ExampleDecoding.Result d = decoding.decode(r.topic(), r.value());
        if (d.poison()) {
            deadLetter(r, d.reason(), d.detail());
            return;
        }
        String name = d.example().getAdapterName();
        AdapterLane lane = ps.lanes.computeIfAbsent(name, n -> newLane(n, r.partition()));
        lane.add(r.offset(), d.tokens());
        int perStep = core.spec.examplesPerStep();
        while (lane.ready(perStep)) {
            trainStep(ps, lane, perStep);
        }
        if (ps.checkpointDue) {
            checkpoint(ps); // now, not after the poll batch: the state so far is consistent with nextOffset
        }
    }

    private AdapterLane newLane(String adapter, int partition) {
        AdapterLane l = new AdapterLane(adapter, partition, core.freshLane(), UUID.randomUUID().toString());
        out.printf(Locale.ROOT, "adapter %s (partition %d): new lineage %s%n", adapter, partition, l.lineageId);
        return l;
    }

    private void trainStep(PartitionState ps, AdapterLane lane, int count) throws IOException {
        StepTrainer.StepResult r = lane.train(core.stepTrainer, count, core.spec.batchSize());
        ps.dirty = true;
        metrics.steps.incrementAndGet();
        if (config.statusInterval().isZero()) {
            out.printf(Locale.ROOT, "adapter %s step %d loss %.4f lr %.3g grad norm %.3f offsets %d..%d%n", lane.adapter,
                    r.step(), r.loss(), r.lr(), r.gradNorm(), lane.fromOffset, lane.toOffset);
        }
        stepListener.onStep(lane.adapter, lane.partition, r.step(), r.loss(), lane.tokensPerSecond());
        if (lane.step() % config.snapshotEvery() == 0) {
            long started = System.nanoTime();
            var event = snapshots.write(lane, lane.adapter);
            metrics.snapshotWritten(lane.adapter, System.nanoTime() - started);
            stepListener.onSnapshot(event);
            out.printf(Locale.ROOT, "snapshot %s %s step %d -> %s%n", lane.adapter, event.getSnapshotId(), event.getStep(),
                    event.getArtifactUri());
            ps.checkpointDue = true; // soon after the snapshot, so a crash rarely publishes it twice
        }
        if (lane.step() % config.checkpointEvery() == 0) {
            ps.checkpointDue = true;
        }
    }

    private void flushQuietLanes() throws IOException {
        if (config.maxWait() == null) {
            return;
        }
        long now = System.nanoTime();
        for (PartitionState ps : partitions.values()) {
            for (AdapterLane lane : ps.lanes.values()) {
                if (!lane.pending.isEmpty() && now - lane.lastArrivalNanos >= config.maxWait().toNanos()) {
                    trainStep(ps, lane, lane.pending.size());
                }
            }
        }
    }

    private void checkpointDue(boolean all) throws IOException {
        for (PartitionState ps : List.copyOf(partitions.values())) {
            if (ps.checkpointDue || all && ps.dirty) {
                checkpoint(ps);
            }
        }
    }

    /** Dead letters and snapshot events first, then the checkpoint, then the offset commit: each durable before the next. */
    private void checkpoint(PartitionState ps) throws IOException {
        producer.flush();
        Exception failed = deadLetterFailure.getAndSet(null);
        if (failed != null) {
            // never move the offset past a record whose dead letter was not written
            throw new IOException("cannot write to " + config.dlqTopic() + ": " + OneLine.withCauses(failed), failed);
        }
        long started = System.nanoTime();
        try {
            PartitionCheckpoint.save(config.checkpointDir(), config.examplesTopic(), ps.partition, ps.epoch, ps.nextOffset,
                    ps.lanes.values(), core.baseModelName);
        } catch (PartitionCheckpoint.FencedException fenced) {
            // This member lost the partition without noticing (a pause past the session timeout): its state is stale,
            // the new owner's checkpoints stand. Drop the partition; the next poll's rebalance takes it away for good.
            partitions.remove(ps.partition);
            consumer.pause(List.of(new TopicPartition(config.examplesTopic(), ps.partition)));
            out.printf(Locale.ROOT, "partition %d: fenced (%s); dropped without committing%n", ps.partition, fenced.getMessage());
            return;
        }
        metrics.checkpointWritten(System.nanoTime() - started);
        Map<TopicPartition, OffsetAndMetadata> offsets =
                Map.of(new TopicPartition(config.examplesTopic(), ps.partition), new OffsetAndMetadata(ps.nextOffset));
        try {
            try {
                consumer.commitSync(offsets);
            } catch (WakeupException stopping) {
                consumer.commitSync(offsets); // a stop request's wakeup hit the commit instead of a poll; it is cleared now
            }
        } catch (org.apache.kafka.common.KafkaException e) {
            // the checkpoint, not the committed offset, is where a new owner resumes: a failed commit (a rebalance
            // fenced this member) only leaves the lag figure behind
            out.printf(Locale.ROOT, "partition %d: offset commit failed after checkpoint (%s)%n", ps.partition, OneLine.withCauses(e));
        }
        ps.checkpointDue = false;
        ps.dirty = false;
    }

    private void deadLetter(ConsumerRecord<byte[], byte[]> r, String reason, String rawDetail) {
        // an exception's message can quote the example's text; the header and the log line must not repeat a secret
        String detail = DETAIL_REDACTOR.redact(rawDetail).text();
        RecordHeaders h = new RecordHeaders();
        h.add(HEADER_REASON, reason.getBytes(StandardCharsets.UTF_8));
        h.add(HEADER_DETAIL, detail.getBytes(StandardCharsets.UTF_8));
        h.add(HEADER_TOPIC, r.topic().getBytes(StandardCharsets.UTF_8));
        h.add(HEADER_PARTITION, Integer.toString(r.partition()).getBytes(StandardCharsets.UTF_8));
        h.add(HEADER_OFFSET, Long.toString(r.offset()).getBytes(StandardCharsets.UTF_8));
        producer.send(new ProducerRecord<>(config.dlqTopic(), null, r.key(), r.value(), h), (meta, e) -> {
            if (e != null) deadLetterFailure.compareAndSet(null, e);
        });
        metrics.deadLetters.incrementAndGet();
        out.printf(Locale.ROOT, "dead letter %s-%d@%d: %s (%s)%n", r.topic(), r.partition(), r.offset(), reason, detail);
    }

    private void status(boolean force) {
        long now = System.nanoTime();
        boolean due = force || !config.statusInterval().isZero() && now - lastStatusNanos >= config.statusInterval().toNanos();
        for (PartitionState ps : partitions.values()) {
            long lag = consumer.currentLag(new TopicPartition(config.examplesTopic(), ps.partition)).orElse(-1);
            for (AdapterLane l : ps.lanes.values()) {
                metrics.update(l, lag);
                if (due) {
                    out.printf(Locale.ROOT, "[%s p%d] step %d  loss %.4f  %.0f tokens/s  lag %d  examples %d  pending %d%n",
                            l.adapter, l.partition, l.step(), l.lastLoss, l.tokensPerSecond(), lag, l.examplesSeen, l.pending.size());
                }
            }
        }
        if (due) {
            lastStatusNanos = now;
            out.flush();
        }
    }

    private final class Listener implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> revoked) {
            try {
                for (TopicPartition tp : revoked) {
                    PartitionState ps = partitions.get(tp.partition());
                    if (ps != null && ps.dirty) {
                        checkpoint(ps);
                    }
                    partitions.remove(tp.partition());
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            metrics.assigned = partitions.size();
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> lost) {
            for (TopicPartition tp : lost) {
                partitions.remove(tp.partition()); // another member may own it already: its checkpoint wins
            }
            metrics.assigned = partitions.size();
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> assigned) {
            try {
                List<TopicPartition> fresh = new ArrayList<>();
                int epoch = consumer.groupMetadata().generationId();
                for (TopicPartition tp : assigned) {
                    // first fence out the previous owner, should it still be writing; then restore
                    PartitionCheckpoint.fence(config.checkpointDir(), tp.topic(), tp.partition(), epoch);
                    PartitionCheckpoint.Restored r = PartitionCheckpoint.load(config.checkpointDir(), tp.topic(), tp.partition(), core);
                    if (r == null) {
                        fresh.add(tp);
                        partitions.put(tp.partition(), new PartitionState(tp.partition(), epoch, 0));
                        out.printf(Locale.ROOT, "partition %d: no checkpoint, training from the earliest retained example%n", tp.partition());
                    } else {
                        PartitionState ps = new PartitionState(tp.partition(), epoch, r.nextOffset());
                        for (AdapterLane l : r.lanes()) {
                            ps.lanes.put(l.adapter, l);
                        }
                        partitions.put(tp.partition(), ps);
                        consumer.seek(tp, r.nextOffset());
                        out.printf(Locale.ROOT, "partition %d: restored checkpoint %d at offset %d (%s)%n", tp.partition(),
                                r.sequence(), r.nextOffset(), describe(r.lanes()));
                    }
                }
                if (!fresh.isEmpty()) {
                    consumer.seekToBeginning(fresh);
                }
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            metrics.assigned = partitions.size();
        }
    }

    private static String describe(List<AdapterLane> lanes) {
        List<String> s = new ArrayList<>();
        for (AdapterLane l : lanes) {
            s.add(l.adapter + " step " + l.step() + ", " + l.pending.size() + " pending");
        }
        return s.isEmpty() ? "no adapters yet" : String.join("; ", s);
    }
}
