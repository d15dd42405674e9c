package io.qlorastream.schemas;

import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.events.SupportTicket;
import io.qlorastream.broker.junit.EmbeddedKafkaExtension;
import io.qlorastream.schemas.junit.EmbeddedSchemaRegistryExtension;
import io.qlorastream.schemas.registry.SchemaRegistryClient;
import io.qlorastream.schemas.registry.server.EmbeddedSchemaRegistry;
import io.qlorastream.schemas.serde.AvroDeserializer;
import io.qlorastream.schemas.serde.AvroSerializer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Bad bytes and missing schemas raise SerializationExceptions that say where and why. */
@ExtendWith({EmbeddedKafkaExtension.class, EmbeddedSchemaRegistryExtension.class})
class WireFormatErrorTest {

    private static byte[] validBytes(EmbeddedSchemaRegistry registry, String topic) {
        AvroSerializer<SupportTicket> s = new AvroSerializer<>();
        s.configure(Map.of("schema.registry.url", registry.url()), false);
        return s.serialize(topic, SampleEvents.ticket("T-err"));
    }

    private static AvroDeserializer<SupportTicket> deserializer(EmbeddedSchemaRegistry registry) {
        return new AvroDeserializer<SupportTicket>(SchemaRegistryClient.of(registry.url()), SupportTicket.class)
                .configured(Map.of("schema.registry.url", registry.url()), false);
    }

    @Test
    void wrongMagicByteNamesTopicPartitionOffsetAndCause(EmbeddedSchemaRegistry registry) {
        byte[] bytes = validBytes(registry, "errors-magic");
        bytes[0] = 7;
        assertThatThrownBy(() -> deserializer(registry).deserialize("errors-magic", 3, 42L, bytes))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("topic errors-magic partition 3 offset 42").hasMessageContaining("unknown magic byte 7");
    }

    @Test
    void unknownSchemaIdIsReportedWithTheRegistryAnswer(EmbeddedSchemaRegistry registry) {
        byte[] bytes = validBytes(registry, "errors-unknown-id");
        ByteBuffer.wrap(bytes, 1, 4).putInt(999_999);
        assertThatThrownBy(() -> deserializer(registry).deserialize("errors-unknown-id", bytes))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("schema id 999999").hasMessageContaining("topic errors-unknown-id")
                .hasMessageContaining("Schema 999999 not found");
    }

    @Test
    void truncatedDataAndTooShortMessagesFail(EmbeddedSchemaRegistry registry) {
        byte[] bytes = validBytes(registry, "errors-truncated");
        byte[] truncated = Arrays.copyOf(bytes, bytes.length - 20);
        assertThatThrownBy(() -> deserializer(registry).deserialize("errors-truncated", truncated))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("topic errors-truncated").hasMessageContaining("schema id");
        assertThatThrownBy(() -> deserializer(registry).deserialize("errors-truncated", new byte[]{0, 0, 1}))
                .isInstanceOf(SerializationException.class).hasMessageContaining("3 bytes, too short");
    }

    @Test
    void aKafkaConsumerReportsPartitionAndOffsetOfTheBadRecord(EmbeddedKafkaBroker broker, EmbeddedSchemaRegistry registry) throws Exception {
        String topic = "errors-consumer";
        KafkaIo.createTopic(broker, topic);
        byte[] good = validBytes(registry, topic);
        KafkaIo.produce(broker, topic, new ByteArraySerializer(), List.of(good, new byte[]{1, 2, 3, 4, 5, 6}));
        Properties p = broker.clientProperties();
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<String, SupportTicket> consumer = new KafkaConsumer<>(p, new StringDeserializer(), deserializer(registry))) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(Set.of(tp));
            consumer.seekToBeginning(Set.of(tp));
            RecordDeserializationException failure = null;
            int good_read = 0;
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (failure == null && System.nanoTime() < deadline) {
                try {
                    good_read += consumer.poll(Duration.ofMillis(200)).count();
                } catch (RecordDeserializationException e) {
                    failure = e;
                }
            }
            assertThat(good_read).isEqualTo(1);
            assertThat(failure).isNotNull();
            assertThat(failure.topicPartition()).isEqualTo(tp);
            assertThat(failure.offset()).isEqualTo(1L);
            assertThat(failure.getMessage()).contains(topic + "-0").contains("offset 1");
            assertThat(failure.getCause()).isInstanceOf(SerializationException.class).hasMessageContaining("unknown magic byte 1");
        }
        // The raw-record path names all three itself.
        List<org.apache.kafka.clients.consumer.ConsumerRecord<String, byte[]>> raw = KafkaIo.consumeRecords(broker, topic, new ByteArrayDeserializer(), 2);
        assertThatThrownBy(() -> deserializer(registry).deserialize(raw.get(1)))
                .hasMessageContaining("topic errors-consumer partition 0 offset 1");
    }

    @Test
    void withoutAutoRegistrationAnUnregisteredSchemaFailsNamingTheSubject(EmbeddedSchemaRegistry registry) {
        AvroSerializer<SupportTicket> s = new AvroSerializer<>();
        s.configure(Map.of("schema.registry.url", registry.url(), "auto.register.schemas", "false"), false);
        assertThatThrownBy(() -> s.serialize("errors-no-auto", SampleEvents.ticket("T-1")))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("Error looking up").hasMessageContaining("subject errors-no-auto-value")
                .hasMessageContaining("Subject 'errors-no-auto-value' not found");

        // Once registered by someone else, the look-up finds its id and serializing works.
        int id = SchemaRegistryClient.of(registry.url()).register("errors-no-auto-value", SupportTicket.getClassSchema());
        byte[] bytes = s.serialize("errors-no-auto", SampleEvents.ticket("T-1"));
        assertThat(ByteBuffer.wrap(bytes, 1, 4).getInt()).isEqualTo(id);
    }

    @Test
    void anUnreachableRegistryIsASerializationExceptionNamingIt() {
        AvroSerializer<SupportTicket> s = new AvroSerializer<>();
        s.configure(Map.of("schema.registry.url", "http://127.0.0.1:1", "max.retries", "1", "retries.wait.ms", "10"), false);
        assertThatThrownBy(() -> s.serialize("errors-down", SampleEvents.ticket("T-1")))
                .isInstanceOf(SerializationException.class).hasMessageContaining("http://127.0.0.1:1").hasMessageContaining("unreachable");
    }
}
