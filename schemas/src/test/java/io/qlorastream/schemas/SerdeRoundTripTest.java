package io.qlorastream.schemas;

import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.events.SupportTicket;
import io.qlorastream.broker.junit.EmbeddedKafkaExtension;
import io.qlorastream.schemas.junit.EmbeddedSchemaRegistryExtension;
import io.qlorastream.schemas.registry.SchemaRegistryClient;
import io.qlorastream.schemas.registry.server.EmbeddedSchemaRegistry;
import io.qlorastream.schemas.serde.AvroDeserializer;
import io.qlorastream.schemas.serde.AvroSerializer;
import io.qlorastream.schemas.serde.GenericAvroSerde;
import io.qlorastream.schemas.serde.SpecificAvroSerde;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

@ExtendWith({EmbeddedKafkaExtension.class, EmbeddedSchemaRegistryExtension.class})
class SerdeRoundTripTest {

    @Test
    void everyEventTypeRoundTripsThroughARealBrokerInTheConfluentWireFormat(EmbeddedKafkaBroker broker, EmbeddedSchemaRegistry registry) throws Exception {
        Map<String, Object> config = Map.of("schema.registry.url", registry.url(), "specific.avro.reader", "true");
        SchemaRegistryClient client = SchemaRegistryClient.of(registry.url());
        for (SpecificRecord event : SampleEvents.all()) {
            String topic = "roundtrip-" + event.getSchema().getName();
            KafkaIo.createTopic(broker, topic);
            AvroSerializer<SpecificRecord> serializer = new AvroSerializer<>();
            serializer.configure(config, false);
            KafkaIo.produce(broker, topic, serializer, List.of(event));

            // The bytes on the topic are the wire format: magic 0, the id registered under <topic>-value, Avro.
            List<byte[]> raw = KafkaIo.consume(broker, topic, new org.apache.kafka.common.serialization.ByteArrayDeserializer(), 1);
            assertThat(raw).hasSize(1);
            assertThat(raw.get(0)[0]).isZero();
            int id = ByteBuffer.wrap(raw.get(0), 1, 4).getInt();
            assertThat(client.latest(topic + "-value").id()).isEqualTo(id);
            assertThat(client.schemaById(id)).isEqualTo(event.getSchema());

            AvroDeserializer<SpecificRecord> deserializer = new AvroDeserializer<>();
            deserializer.configure(config, false);
            assertThat(KafkaIo.consume(broker, topic, deserializer, 1)).containsExactly(event);
        }
    }

    @Test
    void specificAndGenericSerdesInteroperate(EmbeddedKafkaBroker broker, EmbeddedSchemaRegistry registry) throws Exception {
        String topic = "roundtrip-serdes";
        KafkaIo.createTopic(broker, topic);
        Map<String, Object> config = Map.of("schema.registry.url", registry.url());
        SupportTicket ticket = SampleEvents.ticket("T-9");
        try (SpecificAvroSerde<SupportTicket> specific = new SpecificAvroSerde<>(); GenericAvroSerde generic = new GenericAvroSerde()) {
            specific.configure(config, false);
            generic.configure(config, false);
            KafkaIo.produce(broker, topic, specific.serializer(), List.of(ticket));
            GenericRecord asGeneric = KafkaIo.consume(broker, topic, generic.deserializer(), 1).get(0);
            assertThat(asGeneric.get("ticket_id").toString()).isEqualTo("T-9");
            assertThat(asGeneric.get("created_at")).isEqualTo(ticket.getCreatedAt().toEpochMilli());

            KafkaIo.produce(broker, topic, generic.serializer(), List.of(asGeneric));
            assertThat(KafkaIo.consume(broker, topic, specific.deserializer(), 2)).containsExactly(ticket, ticket);
        }
    }

    @Test
    void recordNameStrategyNamesTheSubjectAfterTheRecord(EmbeddedKafkaBroker broker, EmbeddedSchemaRegistry registry) throws Exception {
        String topic = "roundtrip-record-name";
        KafkaIo.createTopic(broker, topic);
        AvroSerializer<SupportTicket> serializer = new AvroSerializer<>();
        serializer.configure(Map.of("schema.registry.url", registry.url(),
                "value.subject.name.strategy", "io.confluent.kafka.serializers.subject.RecordNameStrategy"), false);
        KafkaIo.produce(broker, topic, serializer, List.of(SampleEvents.ticket("T-2")));
        SchemaRegistryClient client = SchemaRegistryClient.of(registry.url());
        assertThat(client.subjects()).contains("io.qlorastream.events.SupportTicket").doesNotContain(topic + "-value");

        AvroSerializer<SupportTicket> keySerializer = new AvroSerializer<>();
        keySerializer.configure(Map.of("schema.registry.url", registry.url()), true);
        keySerializer.serialize(topic, SampleEvents.ticket("T-3"));
        assertThat(client.subjects()).contains(topic + "-key");
    }
}
