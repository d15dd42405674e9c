package io.qlorastream.schemas;

import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.broker.junit.EmbeddedKafkaExtension;
import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.schemas.junit.EmbeddedSchemaRegistryExtension;
import io.qlorastream.schemas.registry.SchemaRegistryClient;
import io.qlorastream.schemas.registry.server.EmbeddedSchemaRegistry;
import io.qlorastream.schemas.serde.AvroDeserializer;
import io.qlorastream.schemas.serde.AvroSerializer;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.specific.SpecificDatumReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * AdapterEvaluation's base model and LoRA config are optional fields with a null default: an evaluation written with
 * the first version of the schema reads with the current one (fields null), and the registry accepts the current
 * schema over the first under its BACKWARD check.
 */
@ExtendWith({EmbeddedKafkaExtension.class, EmbeddedSchemaRegistryExtension.class})
class AdapterEvaluationEvolutionTest {

    @Test
    void aV1RecordResolvesToTheCurrentSchemaWithoutBaseModelOrLoraConfig() throws Exception {
        GenericRecord old = SampleEvents.evaluationV1("V-1");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        BinaryEncoder enc = EncoderFactory.get().binaryEncoder(bytes, null);
        new GenericDatumWriter<GenericRecord>(old.getSchema()).write(old, enc);
        enc.flush();

        AdapterEvaluation read = new SpecificDatumReader<AdapterEvaluation>(old.getSchema(), AdapterEvaluation.getClassSchema())
                .read(null, DecoderFactory.get().binaryDecoder(bytes.toByteArray(), null));
        AdapterEvaluation expected = SampleEvents.evaluation("V-1");
        assertThat(read.getBaseModelName()).isNull();
        assertThat(read.getBaseModelHash()).isNull();
        assertThat(read.getLoraConfig()).isNull();
        assertThat(AdapterEvaluation.newBuilder(read).setBaseModelName(expected.getBaseModelName()).setBaseModelHash(expected.getBaseModelHash())
                .setLoraConfig(expected.getLoraConfig()).build()).isEqualTo(expected);
    }

    @Test
    void theRegistryAcceptsTheCurrentSchemaOverV1AndReadersOfEitherReadBoth(EmbeddedKafkaBroker broker, EmbeddedSchemaRegistry registry)
            throws Exception {
        String topic = "evolution-evaluations";
        String subject = topic + "-value";
        KafkaIo.createTopic(broker, topic);
        SchemaRegistryClient client = SchemaRegistryClient.of(registry.url());
        Map<String, Object> config = Map.of("schema.registry.url", registry.url());
        AvroSerializer<Object> serializer = new AvroSerializer<>(client, config, false);

        // an evaluator writing v1 registers it; the current schema passes the registry's BACKWARD check over it
        KafkaIo.produce(broker, topic, serializer, List.of(SampleEvents.evaluationV1("V-old")));
        assertThat(client.isCompatible(subject, AdapterEvaluation.getClassSchema())).isTrue();
        KafkaIo.produce(broker, topic, serializer, List.of(SampleEvents.evaluation("V-new")));
        assertThat(client.versions(subject)).containsExactly(1, 2);

        // a current reader (the publisher) gets the v1 evaluation with null base model and LoRA config
        List<AdapterEvaluation> current = KafkaIo.consume(broker, topic,
                new AvroDeserializer<AdapterEvaluation>(client, AdapterEvaluation.class).configured(config, false), 2);
        assertThat(current).extracting(AdapterEvaluation::getEvaluationId).containsExactly("V-old", "V-new");
        assertThat(current.get(0).getBaseModelHash()).isNull();
        assertThat(current.get(0).getLoraConfig()).isNull();
        assertThat(current.get(1)).isEqualTo(SampleEvents.evaluation("V-new"));

        // a v1 reader reads the new evaluation, ignoring the fields it does not know
        List<GenericRecord> asV1 = KafkaIo.consume(broker, topic,
                new AvroDeserializer<GenericRecord>(client, SampleEvents.evaluationV1Schema()).configured(config, false), 2);
        assertThat(asV1.get(1).get("evaluation_id").toString()).isEqualTo("V-new");
        assertThat(asV1.get(1).getSchema().getField("base_model_hash")).isNull();
    }
}
