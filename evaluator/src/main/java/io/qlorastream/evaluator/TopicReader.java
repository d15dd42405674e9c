package io.qlorastream.evaluator;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Reads a whole topic from the beginning, without a consumer group and without committing (state that every
 * instance rebuilds at start: held-out sets, current releases, judged snapshots), and catches up to the end offsets
 * on demand. read_committed: records of aborted or open transactions are never seen. Partitions that appear later
 * (a topic created after start) are picked up at the next catch-up.
 */
final class TopicReader implements AutoCloseable {
    private final String topic;
    private final KafkaConsumer<String, byte[]> consumer;
    private final Set<TopicPartition> assigned = new HashSet<>();
    private long records;

    TopicReader(Properties client, String topic) {
        this.topic = topic;
        Properties p = new Properties();
        p.putAll(client);
        p.remove(ConsumerConfig.GROUP_ID_CONFIG);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "qlora-evaluator-state-" + topic);
        this.consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
    }

    /** Reads every record up to the end offsets as they are now; returns how many were read. */
    long catchUp(Consumer<ConsumerRecord<String, byte[]>> sink, Duration timeout) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
        if (infos != null && infos.size() != assigned.size()) {
            List<TopicPartition> all = new ArrayList<>();
            for (PartitionInfo i : infos) {
                all.add(new TopicPartition(i.topic(), i.partition()));
            }
            Set<TopicPartition> fresh = new HashSet<>(all);
            fresh.removeAll(assigned);
            consumer.assign(all);
            consumer.seekToBeginning(fresh);
            assigned.clear();
            assigned.addAll(all);
        }
        if (assigned.isEmpty()) {
            return 0;
        }
        Map<TopicPartition, Long> ends = consumer.endOffsets(assigned, timeout);
        long read = 0;
        long deadline = System.nanoTime() + timeout.toNanos();
        while (behind(ends)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("could not read " + topic + " to its end within " + timeout.toSeconds() + " s");
            }
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                sink.accept(r);
                read++;
            }
        }
        records += read;
        return read;
    }

    private boolean behind(Map<TopicPartition, Long> ends) {
        for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
            if (consumer.position(e.getKey()) < e.getValue()) {
                return true;
            }
        }
        return false;
    }

    long records() {
        return records;
    }

    @Override
    public void close() {
        consumer.close();
    }
}
