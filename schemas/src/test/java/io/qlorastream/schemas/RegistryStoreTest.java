package io.qlorastream.schemas;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.events.CodeReview;
import io.qlorastream.events.SupportTicket;
import io.qlorastream.events.TrainingExample;
import io.qlorastream.broker.junit.EmbeddedKafkaExtension;
import io.qlorastream.schemas.junit.EmbeddedSchemaRegistryExtension;
import io.qlorastream.schemas.registry.CompatibilityLevel;
import io.qlorastream.schemas.registry.SchemaRegistryClient;
import io.qlorastream.schemas.registry.server.EmbeddedSchemaRegistry;
import io.qlorastream.schemas.registry.server.RegistryStartException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The registry's state lives in a compacted Kafka topic, as Confluent's does: restarts keep ids, writes are serialized. */
@ExtendWith({EmbeddedKafkaExtension.class, EmbeddedSchemaRegistryExtension.class})
class RegistryStoreTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static EmbeddedSchemaRegistry registry(EmbeddedKafkaBroker broker, String topic) {
        return EmbeddedSchemaRegistry.builder().bootstrapServers(broker.bootstrapServers()).port(0).topic(topic).build().start();
    }

    @Test
    void aRestartedRegistryKeepsIdsVersionsAndConfigAndContinuesAtMaxPlusOne(EmbeddedKafkaBroker broker) throws Exception {
        String topic = "_schemas_restart";
        int ticket;
        int review;
        try (EmbeddedSchemaRegistry first = registry(broker, topic)) {
            SchemaRegistryClient c = SchemaRegistryClient.of(first.url());
            ticket = c.register("tickets-value", SupportTicket.getClassSchema());
            review = c.register("reviews-value", CodeReview.getClassSchema());
            c.setSubjectCompatibility("reviews-value", CompatibilityLevel.FULL);
            c.setGlobalCompatibility(CompatibilityLevel.FORWARD);
            c.deleteVersion("tickets-value", 1, false);
        }
        try (EmbeddedSchemaRegistry second = registry(broker, topic)) {
            SchemaRegistryClient c = SchemaRegistryClient.of(second.url());
            assertThat(c.schemaById(ticket)).isEqualTo(SupportTicket.getClassSchema());
            assertThat(c.latest("reviews-value").id()).isEqualTo(review);
            assertThat(c.subjects()).containsExactly("reviews-value");
            assertThat(c.subjectCompatibility("reviews-value")).isEqualTo(CompatibilityLevel.FULL);
            assertThat(c.globalCompatibility()).isEqualTo(CompatibilityLevel.FORWARD);
            assertThat(c.register("examples-value", TrainingExample.getClassSchema())).isEqualTo(Math.max(ticket, review) + 1);
            // Re-registering the soft-deleted schema gets its old id back, as a new version.
            assertThat(c.register("tickets-value", SupportTicket.getClassSchema())).isEqualTo(ticket);
            assertThat(c.versions("tickets-value")).containsExactly(2);
        }

        // The topic is Confluent's layout: compacted, one partition, JSON keys and values.
        try (Admin admin = Admin.create(broker.clientProperties())) {
            TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic);
            assertThat(d.partitions()).hasSize(1);
            ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            assertThat(admin.describeConfigs(List.of(r)).all().get(30, TimeUnit.SECONDS).get(r).get("cleanup.policy").value()).isEqualTo("compact");
        }
        // 2 schemas + 2 configs + 1 soft delete, then 2 schemas after the restart.
        List<ConsumerRecord<String, String>> records = KafkaIo.consumeRecords(broker, topic, new StringDeserializer(), 7);
        assertThat(records).hasSize(7);
        JsonNode firstKey = JSON.readTree(records.get(0).key());
        assertThat(firstKey.get("keytype").asText()).isEqualTo("SCHEMA");
        assertThat(firstKey.get("subject").asText()).isEqualTo("tickets-value");
        assertThat(firstKey.get("version").asInt()).isEqualTo(1);
        assertThat(firstKey.get("magic").asInt()).isEqualTo(1);
        JsonNode firstValue = JSON.readTree(records.get(0).value());
        assertThat(firstValue.get("id").asInt()).isEqualTo(ticket);
        assertThat(firstValue.get("deleted").asBoolean()).isFalse();
        assertThat(firstValue.get("schema").asText()).isEqualTo(SupportTicket.getClassSchema().toString());
        assertThat(records).anySatisfy(rec -> assertThat(rec.key()).contains("\"keytype\":\"CONFIG\"").contains("\"subject\":\"reviews-value\""));
        assertThat(records).anySatisfy(rec -> assertThat(rec.value()).contains("\"deleted\":true"));
    }

    @Test
    void fiftyConcurrentRegistrationsOfOneSchemaYieldOneIdAndOneVersion(EmbeddedSchemaRegistry registry) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(50);
        try {
            List<Callable<Integer>> calls = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                // Separate clients: no client-side cache can hide a race in the server.
                SchemaRegistryClient c = SchemaRegistryClient.of(registry.url());
                calls.add(() -> c.register("concurrent-value", CodeReview.getClassSchema()));
            }
            Set<Integer> ids = new HashSet<>();
            for (Future<Integer> f : pool.invokeAll(calls)) {
                ids.add(f.get());
            }
            assertThat(ids).hasSize(1);
            SchemaRegistryClient c = SchemaRegistryClient.of(registry.url());
            assertThat(c.versions("concurrent-value")).containsExactly(1);
            assertThat(c.latest("concurrent-value").id()).isEqualTo(ids.iterator().next());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aTakenPortIsAOneLineErrorNamingIt(EmbeddedKafkaBroker broker) throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            assertThatThrownBy(() -> EmbeddedSchemaRegistry.builder().bootstrapServers(broker.bootstrapServers())
                    .port(taken.getLocalPort()).topic("_schemas_port").build().start())
                    .isInstanceOf(RegistryStartException.class)
                    .hasMessage("port " + taken.getLocalPort() + " is already in use on 127.0.0.1");
        }
    }

    @Test
    void aRegistryTopicWithSeveralPartitionsIsRefused(EmbeddedKafkaBroker broker) throws Exception {
        try (Admin admin = Admin.create(broker.clientProperties())) {
            admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic("_schemas_wide", 3, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        assertThatThrownBy(() -> registry(broker, "_schemas_wide")).isInstanceOf(RegistryStartException.class)
                .hasMessageContaining("_schemas_wide has 3 partitions");
    }

}
