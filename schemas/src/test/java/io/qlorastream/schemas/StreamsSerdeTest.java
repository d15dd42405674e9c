package io.qlorastream.schemas;

import io.qlorastream.events.Split;
import io.qlorastream.events.TrainingExample;
import io.qlorastream.schemas.junit.EmbeddedSchemaRegistryExtension;
import io.qlorastream.schemas.registry.SchemaRegistryClient;
import io.qlorastream.schemas.registry.server.EmbeddedSchemaRegistry;
import io.qlorastream.schemas.serde.AvroSerde;
import io.qlorastream.schemas.serde.SpecificAvroSerde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/** SpecificAvroSerde as Kafka Streams' default value serde, by class name, against the real registry. */
@ExtendWith(EmbeddedSchemaRegistryExtension.class)
class StreamsSerdeTest {

    @Test
    void aTopologyReadsAndWritesEventsWithTheSerdeConfiguredByClassName(EmbeddedSchemaRegistry registry) {
        StreamsBuilder builder = new StreamsBuilder();
        builder.<String, TrainingExample>stream("streams-in")
                .filter((k, v) -> v.getSplit() == Split.EVAL)
                .mapValues(v -> TrainingExample.newBuilder(v).setResponse(v.getResponse().toUpperCase()).build())
                .to("streams-out");
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "serde-test");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class.getName());
        p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, SpecificAvroSerde.class.getName());
        p.put("schema.registry.url", registry.url());
        Map<String, Object> config = Map.of("schema.registry.url", registry.url());
        SchemaRegistryClient client = SchemaRegistryClient.of(registry.url());
        try (TopologyTestDriver driver = new TopologyTestDriver(builder.build(), p);
             AvroSerde<TrainingExample> serde = AvroSerde.specific(TrainingExample.class, client).configured(config, false)) {
            TestInputTopic<String, TrainingExample> in = driver.createInputTopic("streams-in", Serdes.String().serializer(), serde.serializer());
            TestOutputTopic<String, TrainingExample> out = driver.createOutputTopic("streams-out", Serdes.String().deserializer(), serde.deserializer());
            TrainingExample eval = SampleEvents.example("E-1");
            in.pipeInput("support", eval);
            in.pipeInput("support", TrainingExample.newBuilder(eval).setSplit(Split.TRAIN).build());
            TrainingExample expected = TrainingExample.newBuilder(eval).setResponse("REFUNDED.").build();
            assertThat(out.readValuesToList()).containsExactly(expected);
        }
        assertThat(client.subjects()).contains("streams-in-value", "streams-out-value");
    }
}
