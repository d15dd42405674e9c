package io.qlorastream.publisher;

import io.qlorastream.schemas.admin.TopicAdmin;
import io.qlorastream.schemas.kafka.Consumers;
import io.qlorastream.schemas.kafka.TopicReader;
import io.qlorastream.schemas.serde.AvroDeserializer;
import io.qlorastream.schemas.serde.AvroSerdeConfig;
import io.qlorastream.schemas.serde.AvroSerializer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.util.Properties;

/** Client properties for the publisher's and subscriber's Kafka clients: string keys, Avro (specific) values. */
public final class KafkaClients {
    private KafkaClients() {
    }

    /** A consumer that reads committed data only (the publisher writes in transactions). */
    public static Properties consumer(Properties base, String groupIdOrNull) {
        Properties p = Consumers.readCommitted(base, groupIdOrNull);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, AvroDeserializer.class.getName());
        p.put(AvroSerdeConfig.SPECIFIC_AVRO_READER, "true");
        // A reader must never create a topic with the broker's default (delete) policy: the publisher creates them.
        p.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
        return p;
    }

    /**
     * All of {@code topic} from its beginning, no group, nothing committed (a missing topic is an error): the publisher
     * folds {@code adapter-release-log} through it (its own writes and the rollback command's), {@code releases} prints.
     */
    public static <V> TopicReader<V> wholeTopic(Properties base, String topic) {
        return TopicReader.existing(consumer(base, null), topic);
    }

    /** A transactional producer (idempotent, acks=all). */
    public static Properties transactionalProducer(Properties base, String transactionalId) {
        Properties p = copy(base);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, AvroSerializer.class.getName());
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        return p;
    }

    /** Only the keys an admin client knows: bootstrap servers and security settings. */
    public static Properties admin(Properties base) {
        return TopicAdmin.adminProperties(base);
    }

    private static Properties copy(Properties base) {
        Properties p = new Properties();
        p.putAll(base);
        return p;
    }
}
