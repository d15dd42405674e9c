package io.qlorastream.schemas;

import io.qlorastream.broker.EmbeddedKafkaBroker;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/** Plain Kafka producer/consumer helpers for tests: values through the given serde, keys as strings, partition 0. */
public final class KafkaIo {
    private KafkaIo() {
    }

    public static void createTopic(EmbeddedKafkaBroker broker, String topic) throws Exception {
        try (Admin admin = Admin.create(broker.clientProperties())) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
    }

    public static <V> void produce(EmbeddedKafkaBroker broker, String topic, Serializer<V> serializer, List<V> values) {
        Properties p = broker.clientProperties();
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, V> producer = new KafkaProducer<>(p, new StringSerializer(), serializer)) {
            for (V v : values) {
                producer.send(new ProducerRecord<>(topic, 0, "k", v));
            }
            producer.flush();
        }
    }

    public static <V> List<V> consume(EmbeddedKafkaBroker broker, String topic, Deserializer<V> deserializer, int expected) {
        List<V> read = new ArrayList<>();
        for (ConsumerRecord<String, V> r : consumeRecords(broker, topic, deserializer, expected)) {
            read.add(r.value());
        }
        return read;
    }

    public static <V> List<ConsumerRecord<String, V>> consumeRecords(EmbeddedKafkaBroker broker, String topic, Deserializer<V> deserializer, int expected) {
        Properties p = broker.clientProperties();
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<ConsumerRecord<String, V>> read = new ArrayList<>();
        try (KafkaConsumer<String, V> consumer = new KafkaConsumer<>(p, new StringDeserializer(), deserializer)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(Set.of(tp));
            consumer.seekToBeginning(Set.of(tp));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (read.size() < expected && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(read::add);
            }
        }
        return read;
    }
}
