package io.qlorastream.ingest;

import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.broker.junit.EmbeddedKafkaExtension;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The topics ingest creates can carry a 10 MB event, and input topics that cannot are named at start-up. */
@ExtendWith(EmbeddedKafkaExtension.class)
class IngestTopicsTest {

    @Test
    void inputTopicsCreatedForSamplesAcceptATenMegabyteEvent(EmbeddedKafkaBroker broker) throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        IngestConfig c = config(run);
        Properties client = new Properties();
        client.put("bootstrap.servers", broker.bootstrapServers());

        assertThat(IngestTopics.createMissing(client, c, true)).contains(c.ticketsTopic, c.reviewsTopic, c.dlqTopic);
        try (Admin admin = Admin.create(client)) {
            for (String t : List.of(c.ticketsTopic, c.reviewsTopic, c.dlqTopic)) {
                ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, t);
                assertThat(admin.describeConfigs(List.of(r)).all().get().get(r).get("max.message.bytes").value())
                        .isEqualTo(String.valueOf(IngestTopics.MAX_MESSAGE_BYTES));
            }
        }
        assertThat(IngestTopics.inputLimitProblems(client, c)).isEmpty();

        Properties pp = new Properties();
        pp.put("bootstrap.servers", broker.bootstrapServers());
        pp.put("max.request.size", String.valueOf(IngestTopics.MAX_MESSAGE_BYTES));
        byte[] tenMegabytes = new byte[10_000_000 + 1000];
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(pp, new StringSerializer(), new ByteArraySerializer())) {
            RecordMetadata m = producer.send(new ProducerRecord<>(c.ticketsTopic, "big", tenMegabytes)).get(60, TimeUnit.SECONDS);
            assertThat(m.offset()).isZero();
        }
    }

    @Test
    void anInputTopicWithTheBrokerDefaultLimitIsNamed(EmbeddedKafkaBroker broker) throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        IngestConfig c = config(run);
        Properties client = new Properties();
        client.put("bootstrap.servers", broker.bootstrapServers());
        try (Admin admin = Admin.create(client)) {
            admin.createTopics(List.of(new NewTopic(c.ticketsTopic, 1, (short) 1))).all().get(); // broker default, ~1 MB
        }

        List<String> problems = IngestTopics.inputLimitProblems(client, c); // the reviews topic does not exist: not listed
        assertThat(problems).hasSize(1);
        assertThat(problems.get(0)).contains(c.ticketsTopic, "max.message.bytes=", "10 MB");
    }

    private static IngestConfig config(String run) {
        return IngestConfig.with("application.id", "topics-" + run, "topic.tickets", "tickets-" + run, "topic.reviews", "reviews-" + run,
                "topic.training", "training-" + run, "topic.eval", "eval-" + run, "topic.dlq", "dlq-" + run, "output.partitions", "1");
    }
}
