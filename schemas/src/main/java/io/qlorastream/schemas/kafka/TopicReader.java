package io.qlorastream.schemas.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * Reads whole topics from their beginning: every partition assigned by hand, no consumer group, nothing committed
 * (state that every instance rebuilds at start: held-out sets, current releases, the release log, a dashboard's
 * view). Committed records only ({@link Consumers#readCommitted}). Partitions and topics that appear later are
 * picked up at the next look-up, from their beginning (or from {@link #resumeAt} positions).
 */
public final class TopicReader<V> implements AutoCloseable {
    private final KafkaConsumer<String, V> consumer;
    private final List<String> topics;
    private final boolean mustExist;
    private final Set<TopicPartition> assigned = new LinkedHashSet<>();
    private Map<TopicPartition, Long> resume = Map.of();

    private TopicReader(Properties consumer, List<String> topics, boolean mustExist) {
        this.consumer = new KafkaConsumer<>(consumer);
        this.topics = List.copyOf(topics);
        this.mustExist = mustExist;
    }

    /**
     * A reader of {@code topics} with the consumer settings {@code consumer} (a {@link Consumers#readCommitted} set-up
     * with no group, and the deserializers); a topic that does not exist yet reads as empty until it does.
     */
    public static <V> TopicReader<V> of(Properties consumer, Collection<String> topics) {
        return new TopicReader<>(consumer, List.copyOf(topics), false);
    }

    /** As {@link #of}, but a topic that does not exist is an error at the first catch-up. */
    public static <V> TopicReader<V> existing(Properties consumer, String topic) {
        return new TopicReader<>(consumer, List.of(topic), true);
    }

    /** Where partitions assigned from now on start (the beginning for those not in it): a reader taking over another's. */
    public TopicReader<V> resumeAt(Map<TopicPartition, Long> positions) {
        this.resume = Map.copyOf(positions);
        return this;
    }

    /**
     * Delivers every record (null values included: tombstones) from where it stopped up to the end offsets as of now;
     * returns how many. Looks the topics' partitions up first.
     */
    public long catchUp(Consumer<ConsumerRecord<String, V>> sink, Duration timeout) {
        for (String topic : topics) {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
            if (mustExist && (infos == null || infos.isEmpty())) {
                throw new IllegalStateException("topic " + topic + " does not exist");
            }
            assignNew(topic, infos == null ? List.of() : infos);
        }
        if (assigned.isEmpty()) {
            return 0;
        }
        Map<TopicPartition, Long> ends = consumer.endOffsets(assigned, timeout);
        long deadline = System.nanoTime() + timeout.toNanos();
        long read = 0;
        while (behind(ends)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("could not read " + String.join(", ", topics) + " to its end within "
                        + timeout.toSeconds() + " s");
            }
            for (ConsumerRecord<String, V> r : consumer.poll(Duration.ofMillis(200))) {
                sink.accept(r);
                read++;
            }
        }
        return read;
    }

    /**
     * Delivers records until this reader is past {@code offset} of {@code tp}: a writer reading back its own committed
     * record (a transaction's markers may reach the partition just after the commit returns).
     */
    public void catchUpPast(TopicPartition tp, long offset, Consumer<ConsumerRecord<String, V>> sink, Duration timeout) {
        if (!assigned.contains(tp)) {
            catchUp(sink, timeout);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (consumer.position(tp) <= offset) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("could not read back offset " + offset + " of " + tp + " within " + timeout.toSeconds() + " s");
            }
            for (ConsumerRecord<String, V> r : consumer.poll(Duration.ofMillis(100))) {
                sink.accept(r);
            }
        }
    }

    /**
     * Lists the broker's topics (one metadata request, bounded by {@code timeout}) and assigns the partitions of ours
     * that are new; returns the names of every topic the broker has.
     */
    public Set<String> lookUp(Duration timeout) {
        Map<String, List<PartitionInfo>> all = consumer.listTopics(timeout);
        for (String topic : topics) {
            assignNew(topic, all.getOrDefault(topic, List.of()));
        }
        return all.keySet();
    }

    /** Whether every topic of this reader has partitions assigned. */
    public boolean allFound() {
        return topics.stream().allMatch(t -> assigned.stream().anyMatch(tp -> tp.topic().equals(t)));
    }

    public boolean isEmpty() {
        return assigned.isEmpty();
    }

    /** One poll of the assigned partitions, for a reader that follows the topics as they grow. */
    public ConsumerRecords<String, V> poll(Duration timeout) {
        return consumer.poll(timeout);
    }

    /** Reads {@code tp} again from {@code offset} (a record that could not be handled yet). */
    public void seek(TopicPartition tp, long offset) {
        consumer.seek(tp, offset);
    }

    /** Interrupts a blocking call from another thread (it throws {@link org.apache.kafka.common.errors.WakeupException}). */
    public void wakeup() {
        consumer.wakeup();
    }

    private void assignNew(String topic, List<PartitionInfo> infos) {
        List<TopicPartition> fresh = new ArrayList<>();
        for (PartitionInfo i : infos) {
            TopicPartition tp = new TopicPartition(topic, i.partition());
            if (assigned.add(tp)) {
                fresh.add(tp);
            }
        }
        if (fresh.isEmpty()) {
            return;
        }
        consumer.assign(assigned);
        List<TopicPartition> fromStart = new ArrayList<>();
        for (TopicPartition tp : fresh) {
            Long at = resume.get(tp);
            if (at == null) {
                fromStart.add(tp);
            } else {
                consumer.seek(tp, at);
            }
        }
        if (!fromStart.isEmpty()) { // an empty list would mean every assigned partition
            consumer.seekToBeginning(fromStart);
        }
    }

    private boolean behind(Map<TopicPartition, Long> ends) {
        for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
            if (consumer.position(e.getKey()) < e.getValue()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(5));
    }
}
