package io.qlorastream.ingest;

import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.broker.junit.EmbeddedKafkaExtension;
import io.qlorastream.ingest.sample.SampleGenerator;
import io.qlorastream.ingest.sample.SampleProducer;
import io.qlorastream.schemas.junit.EmbeddedSchemaRegistryExtension;
import io.qlorastream.schemas.registry.server.EmbeddedSchemaRegistry;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/** The feed the demo runs: produce until told to stop, every counted record on the broker. */
@ExtendWith({EmbeddedKafkaExtension.class, EmbeddedSchemaRegistryExtension.class})
class SampleProducerTest {
    @Test
    void aStopRequestEndsTheFeedAndEveryRecordReportedSentIsOnTheTopics(EmbeddedKafkaBroker broker, EmbeddedSchemaRegistry registry)
            throws Exception {
        IngestConfig config = IngestConfig.with("topic.tickets", "feed-tickets", "topic.reviews", "feed-reviews",
                "schema.registry.url", registry.url());
        Properties client = new Properties();
        client.put("bootstrap.servers", broker.bootstrapServers());
        client.put("schema.registry.url", registry.url());
        List<SampleGenerator.Sample> samples = new SampleGenerator(7).generate(300, 200);
        List<Integer> reported = new ArrayList<>();
        int written = SampleProducer.produce(client, config, samples, 0, () -> reported.size() >= 137, reported::add);

        assertThat(written).isEqualTo(137);
        assertThat(reported).hasSize(137).startsWith(1, 2, 3).endsWith(137);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
            Map<TopicPartition, OffsetSpec> ends = new HashMap<>();
            for (String t : List.of("feed-tickets", "feed-reviews")) {
                admin.describeTopics(List.of(t)).allTopicNames().get().get(t).partitions()
                        .forEach(p -> ends.put(new TopicPartition(t, p.partition()), OffsetSpec.latest()));
            }
            long onBroker = admin.listOffsets(ends).all().get().values().stream().mapToLong(r -> r.offset()).sum();
            assertThat(onBroker).isEqualTo(137);
        }
    }
}
