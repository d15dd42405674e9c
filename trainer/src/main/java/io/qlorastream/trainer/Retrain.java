package io.qlorastream.trainer;

import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.schemas.kafka.Consumers;
import io.qlorastream.store.AdapterStore;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

/**
 * Replay: a fresh lineage of one adapter trained from a range of training-examples (as long as retention holds
 * it), with the live trainer's lanes, batching and poison rules, its snapshots stored and announced like the live
 * ones. From the same start and with the same settings, its adapter at step s is bit-identical to the live one's.
 * It reads without a consumer group and commits nothing; the range's end is fixed when it starts.
 */
public final class Retrain {

    /** Where to start (and stop) reading; exactly one of the start fields applies, likewise for the end. */
    public record Range(Long fromTimestamp, Map<Integer, Long> fromOffsets, Long toTimestamp, Map<Integer, Long> toOffsets) {
        public static Range fromBeginning() {
            return new Range(null, null, null, null);
        }
    }

    /** The run's outcome: snapshots written, steps per lane, examples left untrained at the end (a partial batch). */
    public record Result(List<AdapterSnapshot> snapshots, long steps, long examples, long untrained, long skipped) {
    }

    private Retrain() {
    }

    /**
     * @param adapter adapter whose examples are replayed
     * @param as      name of the new lineage's adapter (snapshots under {@code <as>/snapshots/})
     */
    public static Result run(TrainingCore core, String examplesTopic, String snapshotsTopic, String adapter, String as,
                             Range range, int snapshotEvery, Properties client, AdapterStore store, Path scratch,
                             PrintStream out) throws IOException {
        Map<String, Object> serde = new HashMap<>();
        client.stringPropertyNames().forEach(k -> serde.put(k, client.getProperty(k)));
        Properties known = new Properties();
        client.stringPropertyNames().stream().filter(ConsumerConfig.configNames()::contains).forEach(k -> known.put(k, client.getProperty(k)));
        Properties c = Consumers.readCommitted(known, null);
        Properties p = new Properties();
        client.stringPropertyNames().stream().filter(ProducerConfig.configNames()::contains).forEach(k -> p.put(k, client.getProperty(k)));
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        Files.createDirectories(scratch);
        ExampleDecoding decoding = new ExampleDecoding(core, client.getProperty("schema.registry.url"), serde);
        List<AdapterSnapshot> written = new ArrayList<>();
        long skipped = 0;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
             KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            List<PartitionInfo> infos = consumer.partitionsFor(examplesTopic, Duration.ofSeconds(30));
            if (infos == null || infos.isEmpty()) {
                throw new IOException("topic " + examplesTopic + " does not exist");
            }
            List<TopicPartition> tps = infos.stream().map(i -> new TopicPartition(examplesTopic, i.partition())).toList();
            Map<TopicPartition, Long> start = starts(consumer, tps, range);
            Map<TopicPartition, Long> end = ends(consumer, tps, range);
            consumer.assign(tps);
            start.forEach(consumer::seek);
            String lineage = UUID.randomUUID().toString();
            SnapshotWriter snapshots = new SnapshotWriter(core, store, producer, serde, snapshotsTopic, examplesTopic, scratch);
            Map<Integer, AdapterLane> lanes = new LinkedHashMap<>();
            int perStep = core.spec.examplesPerStep();
            out.printf(Locale.ROOT, "retraining %s as %s (lineage %s) from %s to %s%n", adapter, as, lineage, offsets(start), offsets(end));
            while (true) {
                List<TopicPartition> open = tps.stream().filter(tp -> consumer.position(tp) < end.get(tp)).toList();
                if (open.isEmpty()) break;
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                    if (r.offset() >= end.get(tp)) continue;
                    ExampleDecoding.Result d = decoding.decode(r.topic(), r.value());
                    if (d.poison()) {
                        skipped++; // the live trainer dead-lettered it; skipping it the same way keeps the batches equal
                        continue;
                    }
                    if (!d.example().getAdapterName().equals(adapter)) continue;
                    AdapterLane lane = lanes.computeIfAbsent(r.partition(),
                            part -> new AdapterLane(as, part, core.freshLane(), lanes.isEmpty() ? lineage : lineage + "-p" + part));
                    lane.add(r.offset(), d.tokens());
                    while (lane.ready(perStep)) {
                        var s = lane.train(core.stepTrainer, perStep, core.spec.batchSize());
                        if (lane.step() % snapshotEvery == 0) {
                            written.add(announce(snapshots.write(lane, as), out));
                        }
                        if (s.step() % 10 == 0) {
                            out.printf(Locale.ROOT, "[%s p%d] step %d  loss %.4f%n", as, lane.partition, s.step(), s.loss());
                        }
                    }
                }
            }
            long steps = 0, examples = 0, untrained = 0;
            for (AdapterLane lane : lanes.values()) {
                if (lane.step() > lane.lastSnapshotStep) {
                    written.add(announce(snapshots.write(lane, as), out)); // the end of the range: its adapter, too
                }
                steps += lane.step();
                examples += lane.examplesSeen;
                untrained += lane.pending.size();
            }
            out.printf(Locale.ROOT, "retrained %s: %d steps on %d examples, %d left for a partial batch, %d untrainable skipped, %d snapshots%n",
                    as, steps, examples, untrained, skipped, written.size());
            return new Result(written, steps, examples, untrained, skipped);
        }
    }

    private static AdapterSnapshot announce(AdapterSnapshot s, PrintStream out) {
        out.printf(Locale.ROOT, "snapshot %s %s step %d -> %s%n", s.getAdapterName(), s.getSnapshotId(), s.getStep(), s.getArtifactUri());
        out.flush();
        return s;
    }

    private static String offsets(Map<TopicPartition, Long> m) {
        List<String> s = new ArrayList<>();
        m.forEach((tp, o) -> s.add(tp.partition() + ":" + o));
        return String.join(",", s);
    }

    private static Map<TopicPartition, Long> starts(KafkaConsumer<?, ?> consumer, List<TopicPartition> tps, Range range) {
        Map<TopicPartition, Long> begin = consumer.beginningOffsets(tps);
        Map<TopicPartition, Long> out = new LinkedHashMap<>(begin);
        if (range.fromOffsets() != null) {
            range.fromOffsets().forEach((part, off) -> out.put(known(tps, part), Math.max(off, begin.get(known(tps, part)))));
        } else if (range.fromTimestamp() != null) {
            Map<TopicPartition, Long> q = new HashMap<>();
            tps.forEach(tp -> q.put(tp, range.fromTimestamp()));
            Map<TopicPartition, Long> endNow = consumer.endOffsets(tps);
            consumer.offsetsForTimes(q).forEach((tp, ot) -> out.put(tp, ot == null ? endNow.get(tp) : ot.offset()));
        }
        return out;
    }

    private static Map<TopicPartition, Long> ends(KafkaConsumer<?, ?> consumer, List<TopicPartition> tps, Range range) {
        Map<TopicPartition, Long> endNow = consumer.endOffsets(tps);
        Map<TopicPartition, Long> out = new LinkedHashMap<>(endNow);
        if (range.toOffsets() != null) {
            out.replaceAll((tp, o) -> 0L); // partitions not named are not read
            range.toOffsets().forEach((part, off) -> out.put(known(tps, part), Math.min(off, endNow.get(known(tps, part)))));
        } else if (range.toTimestamp() != null) {
            Map<TopicPartition, Long> q = new HashMap<>();
            tps.forEach(tp -> q.put(tp, range.toTimestamp()));
            for (Map.Entry<TopicPartition, OffsetAndTimestamp> e : consumer.offsetsForTimes(q).entrySet()) {
                if (e.getValue() != null) out.put(e.getKey(), e.getValue().offset());
            }
        }
        return out;
    }

    private static TopicPartition known(List<TopicPartition> tps, int partition) {
        return tps.stream().filter(tp -> tp.partition() == partition).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("partition " + partition + " does not exist (the topic has " + tps.size() + ")"));
    }
}
