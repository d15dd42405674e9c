package io.qlorastream.schemas;

import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.events.SupportTicket;
import io.qlorastream.broker.junit.EmbeddedKafkaExtension;
import io.qlorastream.schemas.junit.EmbeddedSchemaRegistryExtension;
import io.qlorastream.schemas.registry.RegistryException;
import io.qlorastream.schemas.registry.SchemaRegistryClient;
import io.qlorastream.schemas.registry.server.EmbeddedSchemaRegistry;
import io.qlorastream.schemas.serde.AvroDeserializer;
import io.qlorastream.schemas.serde.AvroSerializer;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.GenericRecordBuilder;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** v2 of SupportTicket adds an optional field: BACKWARD compatible, and old and new events read each other. */
@ExtendWith({EmbeddedKafkaExtension.class, EmbeddedSchemaRegistryExtension.class})
class SchemaEvolutionTest {

    /** SupportTicket with one more field, appended: ["null","string"] priority, default null. */
    static Schema v2() {
        Schema v1 = SupportTicket.getClassSchema();
        List<Schema.Field> fields = new ArrayList<>();
        for (Schema.Field f : v1.getFields()) {
            fields.add(new Schema.Field(f, f.schema()));
        }
        fields.add(new Schema.Field("priority", Schema.createUnion(Schema.create(Schema.Type.NULL), Schema.create(Schema.Type.STRING)),
                "Triage priority, when set.", Schema.Field.NULL_DEFAULT_VALUE));
        return Schema.createRecord(v1.getName(), v1.getDoc(), v1.getNamespace(), false, fields);
    }

    /** SupportTicket with a required field without default: not BACKWARD compatible. */
    static Schema breaking() {
        Schema v1 = SupportTicket.getClassSchema();
        List<Schema.Field> fields = new ArrayList<>();
        for (Schema.Field f : v1.getFields()) {
            fields.add(new Schema.Field(f, f.schema()));
        }
        fields.add(new Schema.Field("assignee", Schema.create(Schema.Type.STRING), "Agent in charge.", (Object) null));
        return Schema.createRecord(v1.getName(), v1.getDoc(), v1.getNamespace(), false, fields);
    }

    @Test
    void v2ReadsV1DataAndV1ReadsV2Data(EmbeddedKafkaBroker broker, EmbeddedSchemaRegistry registry) throws Exception {
        String topic = "evolution-tickets";
        KafkaIo.createTopic(broker, topic);
        SchemaRegistryClient client = SchemaRegistryClient.of(registry.url());
        Map<String, Object> config = Map.of("schema.registry.url", registry.url());
        SupportTicket v1Event = SampleEvents.ticket("T-v1");

        AvroSerializer<Object> serializer = new AvroSerializer<>(client, config, false);
        KafkaIo.produce(broker, topic, serializer, List.of(v1Event));

        // v2 registers under BACKWARD (the default level): adding an optional field is compatible.
        assertThat(client.isCompatible(topic + "-value", v2())).isTrue();
        GenericRecord v2Event = new GenericRecordBuilder(v2())
                .set("ticket_id", "T-v2").set("created_at", 1_700_000_000_000L).set("product", "p")
                .set("channel", new GenericData.EnumSymbol(v2().getField("channel").schema(), "EMAIL")).set("language", "en")
                .set("subject", "s").set("messages", List.of())
                .set("status", new GenericData.EnumSymbol(v2().getField("status").schema(), "OPEN"))
                .set("priority", "high").build();
        KafkaIo.produce(broker, topic, serializer, List.of(v2Event));
        assertThat(client.versions(topic + "-value")).containsExactly(1, 2);

        // A v2 reader gets v1 data with the new field at its default.
        List<GenericRecord> asV2 = KafkaIo.consume(broker, topic, new AvroDeserializer<GenericRecord>(client, v2()).configured(config, false), 2);
        assertThat(asV2.get(0).get("ticket_id").toString()).isEqualTo("T-v1");
        assertThat(asV2.get(0).get("priority")).isNull();
        assertThat(asV2.get(1).get("priority").toString()).isEqualTo("high");

        // The generated v1 class reads v2 data, ignoring the field it does not know.
        List<SupportTicket> asV1 = KafkaIo.consume(broker, topic, new AvroDeserializer<SupportTicket>(client, SupportTicket.class).configured(config, false), 2);
        assertThat(asV1.get(0)).isEqualTo(v1Event);
        assertThat(asV1.get(1).getTicketId()).isEqualTo("T-v2");
        assertThat(asV1.get(1).getTags()).isEmpty();
        assertThat(asV1.get(1).getSatisfactionScore()).isNull();
    }

    @Test
    void aBreakingChangeIsRefusedByTheRegistryAndTheSerializer(EmbeddedSchemaRegistry registry) {
        String subject = "evolution-breaking-value";
        SchemaRegistryClient client = SchemaRegistryClient.of(registry.url());
        client.register(subject, SupportTicket.getClassSchema());
        assertThat(client.isCompatible(subject, breaking())).isFalse();
        assertThatThrownBy(() -> client.register(subject, breaking()))
                .isInstanceOf(RegistryException.IncompatibleSchemaException.class)
                .hasMessageContaining("incompatible").hasMessageContaining("assignee")
                .satisfies(e -> assertThat(((RegistryException) e).status()).isEqualTo(409));

        GenericRecord record = new GenericData.Record(breaking());
        AvroSerializer<GenericRecord> serializer = new AvroSerializer<>(client, Map.of("schema.registry.url", registry.url()), false);
        assertThatThrownBy(() -> serializer.serialize("evolution-breaking", record))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("subject evolution-breaking-value").hasMessageContaining("topic evolution-breaking")
                .hasMessageContaining("incompatible");
    }
}
