package io.qlorastream.schemas.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.broker.junit.EmbeddedKafkaExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Whole topics read without a group on a real broker: to the end, then what came since; committed records only. */
@ExtendWith(EmbeddedKafkaExtension.class)
class TopicReaderTest {
    static final Duration TIMEOUT = Duration.ofSeconds(30);

    @Test
    void readsToTheEndThenOnlyWhatCameSinceAndNeverAnAbortedRecord(EmbeddedKafkaBroker broker) throws Exception {
        String topic = create(broker, 2);
        try (KafkaProducer<String, String> p = transactional(broker)) {
            p.initTransactions();
            p.beginTransaction();
            for (int i = 0; i < 3; i++) {
                p.send(new ProducerRecord<>(topic, i % 2, "k" + i, "committed-" + i));
            }
            p.commitTransaction();
            p.beginTransaction();
            p.send(new ProducerRecord<>(topic, 0, "k", "aborted"));
            p.flush();
            p.abortTransaction();
        }
        try (TopicReader<String> reader = TopicReader.of(consumer(broker), List.of(topic))) {
            List<String> seen = new ArrayList<>();
            assertThat(reader.catchUp(r -> seen.add(r.value()), TIMEOUT)).isEqualTo(3);
            assertThat(seen).containsExactlyInAnyOrder("committed-0", "committed-1", "committed-2");
            assertThat(reader.catchUp(r -> seen.add(r.value()), TIMEOUT)).as("nothing new").isZero();
            RecordMetadata m = send(broker, topic, 1, "later");
            List<String> later = new ArrayList<>();
            reader.catchUpPast(new TopicPartition(topic, 1), m.offset(), r -> later.add(r.value()), TIMEOUT);
            assertThat(later).containsExactly("later");
        }
    }

    @Test
    void aMissingTopicReadsAsEmptyUntilItAppearsAndNewPartitionsAreReadFromTheirBeginning(EmbeddedKafkaBroker broker) throws Exception {
        String topic = "reader-" + UUID.randomUUID().toString().substring(0, 8);
        Properties c = consumer(broker);
        c.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "200");
        try (TopicReader<String> reader = TopicReader.of(c, List.of(topic)); Admin admin = Admin.create(broker.clientProperties())) {
            assertThat(reader.catchUp(r -> { }, TIMEOUT)).isZero();
            assertThat(reader.isEmpty()).isTrue();
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
            send(broker, topic, 0, "first");
            assertThat(readAll(reader)).containsExactly("first");
            admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(2))).all().get();
            send(broker, topic, 1, "second");
            List<String> seen = new ArrayList<>(); // once the consumer's metadata knows the new partition
            for (long deadline = System.nanoTime() + TIMEOUT.toNanos(); seen.isEmpty() && System.nanoTime() < deadline; Thread.sleep(100)) {
                seen.addAll(readAll(reader));
            }
            assertThat(seen).containsExactly("second");
            assertThat(reader.allFound()).isTrue();
        }
        assertThatThrownBy(() -> {
            try (TopicReader<String> reader = TopicReader.existing(c, topic + "-none")) {
                reader.catchUp(r -> { }, TIMEOUT);
            }
        }).isInstanceOf(IllegalStateException.class).hasMessage("topic " + topic + "-none does not exist");
    }

    @Test
    void aFollowingReaderLooksTopicsUpAndResumesWhereAnotherStopped(EmbeddedKafkaBroker broker) throws Exception {
        String topic = create(broker, 1);
        for (String v : List.of("a", "b", "c")) {
            send(broker, topic, 0, v);
        }
        String absent = topic + "-absent";
        try (TopicReader<String> reader = TopicReader.<String>of(consumer(broker), List.of(topic, absent))
                .resumeAt(Map.of(new TopicPartition(topic, 0), 1L))) {
            assertThat(reader.lookUp(TIMEOUT)).contains(topic).doesNotContain(absent);
            assertThat(reader.allFound()).isFalse();
            List<String> seen = new ArrayList<>();
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (seen.size() < 2 && System.nanoTime() < deadline) {
                reader.poll(Duration.ofMillis(200)).forEach(r -> seen.add(r.value()));
            }
            assertThat(seen).containsExactly("b", "c");
            reader.seek(new TopicPartition(topic, 0), 2);
            List<String> again = new ArrayList<>();
            reader.catchUp(r -> again.add(r.value()), TIMEOUT);
            assertThat(again).containsExactly("c");
        }
    }

    @Test
    void theSharedConsumerSetUpReadsCommittedFromTheStartAndCommitsNothing() {
        Properties client = new Properties();
        client.put("bootstrap.servers", "kafka:9092");
        client.put(ConsumerConfig.GROUP_ID_CONFIG, "someone-elses");
        Properties grouped = Consumers.readCommitted(client, "qlora-test");
        assertThat(grouped).containsEntry(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed")
                .containsEntry(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest")
                .containsEntry(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false")
                .containsEntry(ConsumerConfig.GROUP_ID_CONFIG, "qlora-test").containsEntry("bootstrap.servers", "kafka:9092");
        assertThat(Consumers.readCommitted(client, null)).doesNotContainKey(ConsumerConfig.GROUP_ID_CONFIG);
        assertThat(client).as("left as it was").containsEntry(ConsumerConfig.GROUP_ID_CONFIG, "someone-elses").hasSize(2);
    }

    private static List<String> readAll(TopicReader<String> reader) {
        List<String> seen = new ArrayList<>();
        reader.catchUp((ConsumerRecord<String, String> r) -> seen.add(r.value()), TIMEOUT);
        return seen;
    }

    private static Properties consumer(EmbeddedKafkaBroker broker) {
        Properties base = new Properties();
        base.putAll(broker.clientProperties());
        Properties p = Consumers.readCommitted(base, null);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false"); // looking a missing topic up must not create it
        return p;
    }

    private static String create(EmbeddedKafkaBroker broker, int partitions) throws Exception {
        String topic = "reader-" + UUID.randomUUID().toString().substring(0, 8);
        try (Admin admin = Admin.create(broker.clientProperties())) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
        }
        return topic;
    }

    private static RecordMetadata send(EmbeddedKafkaBroker broker, String topic, int partition, String value) throws Exception {
        try (KafkaProducer<String, String> p = new KafkaProducer<>(broker.clientProperties(), new StringSerializer(), new StringSerializer())) {
            return p.send(new ProducerRecord<>(topic, partition, "k", value)).get();
        }
    }

    private static KafkaProducer<String, String> transactional(EmbeddedKafkaBroker broker) {
        Properties p = new Properties();
        p.putAll(broker.clientProperties());
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "reader-test-" + UUID.randomUUID());
        return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
    }
}
