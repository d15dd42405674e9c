package io.qlorastream.publisher;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Consumer;

/**
 * Reads one topic from its beginning, all partitions, committed records only, with no consumer group (nothing is
 * committed); {@link #catchUp} hands every record up to the current end to a callback. The publisher folds
 * {@code adapter-release-log} through it (its own writes and the rollback command's), the {@code releases} command
 * prints with it.
 */
public final class TopicTail<V> implements AutoCloseable {
    private final KafkaConsumer<String, V> consumer;
    private final String topic;
    private List<TopicPartition> partitions;

    public TopicTail(Properties client, String topic) {
        this.consumer = new KafkaConsumer<>(KafkaClients.consumer(client, null));
        this.topic = topic;
    }

    /** Delivers every record (null values included: tombstones) from where it stopped up to the end as of now. */
    public int catchUp(Consumer<ConsumerRecord<String, V>> sink, Duration timeout) {
        assignIfNeeded(timeout);
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
        long deadline = System.nanoTime() + timeout.toNanos();
        int n = 0;
        while (!reached(end)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("could not read " + topic + " to its end within " + timeout);
            }
            for (ConsumerRecord<String, V> r : consumer.poll(Duration.ofMillis(200))) {
                sink.accept(r);
                n++;
            }
        }
        return n;
    }

    /**
     * Delivers records until this reader is past {@code offset} of {@code tp}: a writer reading back its own committed
     * record (a transaction's markers may reach the partition just after the commit returns).
     */
    public void catchUpPast(TopicPartition tp, long offset, Consumer<ConsumerRecord<String, V>> sink, Duration timeout) {
        assignIfNeeded(timeout);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (consumer.position(tp) <= offset) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("could not read back offset " + offset + " of " + tp + " within " + timeout);
            }
            for (ConsumerRecord<String, V> r : consumer.poll(Duration.ofMillis(100))) {
                sink.accept(r);
            }
        }
    }

    private boolean reached(Map<TopicPartition, Long> end) {
        for (TopicPartition tp : partitions) {
            if (consumer.position(tp) < end.getOrDefault(tp, 0L)) {
                return false;
            }
        }
        return true;
    }

    private void assignIfNeeded(Duration timeout) {
        if (partitions != null) {
            return;
        }
        List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
        if (infos == null || infos.isEmpty()) {
            throw new IllegalStateException("topic " + topic + " does not exist");
        }
        partitions = infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(5));
    }
}
