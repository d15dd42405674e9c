package io.qlorastream.schemas.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.broker.junit.EmbeddedKafkaExtension;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.schemas.admin.TopicAdmin;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.stream.Collectors;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The stream contract: its policies as topics.md states them, and every topic created as the contract says on a real broker. */
@ExtendWith(EmbeddedKafkaExtension.class)
class TopicTest {

    @Test
    void everyTopicIsCreatedByTopicAdminWithTheContractsConfigsAndADeploymentsToo(EmbeddedKafkaBroker broker) throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        Properties client = new Properties();
        client.putAll(broker.clientProperties());
        List<NewTopic> wanted = new ArrayList<>();
        for (Topic t : Topic.values()) {
            int partitions = t.requiredPartitions() > 0 ? t.requiredPartitions() : 2;
            wanted.add(TopicAdmin.newTopic(t, run + "." + t.defaultName(), partitions, (short) 1));
            wanted.add(new NewTopic(run + ".deployed." + t.defaultName(), partitions, (short) 1).configs(t.deploymentConfigs()));
        }
        assertThat(TopicAdmin.createMissing(client, wanted)).hasSize(2 * Topic.values().length);
        try (Admin admin = Admin.create(broker.clientProperties())) {
            List<ConfigResource> resources = wanted.stream().map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n.name())).toList();
            Map<ConfigResource, Config> described = admin.describeConfigs(resources).all().get();
            for (Topic t : Topic.values()) {
                assertThat(configs(described, run + "." + t.defaultName())).as("%s as a service creates it", t).containsAllEntriesOf(t.configs());
                assertThat(configs(described, run + ".deployed." + t.defaultName())).as("%s as a deployment creates it", t)
                        .containsAllEntriesOf(t.deploymentConfigs());
            }
        }
    }

    private static Map<String, String> configs(Map<ConfigResource, Config> described, String topic) {
        return described.get(new ConfigResource(ConfigResource.Type.TOPIC, topic)).entries().stream()
                .collect(Collectors.toMap(e -> e.name(), e -> e.value() == null ? "" : e.value()));
    }

    @Test
    void thePoliciesAreTheOnesTopicsMdStates() {
        for (Topic t : Topic.values()) {
            assertThat(t.deploymentConfigs()).as("%s: a deployment sets all a service sets", t).containsAllEntriesOf(t.configs());
            String cleanup = t.deploymentConfigs().getOrDefault("cleanup.policy", "delete");
            assertThat(cleanup).as("cleanup of %s", t).isEqualTo(t == Topic.ADAPTER_RELEASES || t == Topic.SCHEMAS ? "compact" : "delete");
            assertThat(t.valueType() == byte[].class || t.valueType() == String.class || SpecificRecord.class.isAssignableFrom(t.valueType()))
                    .as("value of %s", t).isTrue();
        }
        assertThat(Topic.ADAPTER_RELEASE_LOG.configs()).containsEntry("retention.ms", "-1").containsEntry("retention.bytes", "-1");
        assertThat(Topic.ADAPTER_RELEASES.valueType()).isEqualTo(AdapterRelease.class);
        for (Topic replayable : List.of(Topic.TRAINING_EXAMPLES, Topic.EVAL_EXAMPLES)) {
            assertThat(replayable.deploymentConfigs()).containsEntry("retention.ms", "-1");
        }
        for (Topic big : List.of(Topic.SUPPORT_TICKETS, Topic.CODE_REVIEWS, Topic.INGEST_DLQ)) {
            assertThat(big.configs()).containsEntry("max.message.bytes", String.valueOf(Topic.MAX_MESSAGE_BYTES));
        }
        assertThat(Topic.INGEST_DLQ.keyType()).isEqualTo(byte[].class);
        assertThat(Arrays.stream(Topic.values()).map(Topic::defaultName).distinct()).hasSize(Topic.values().length);
        assertThat(Topic.pipeline()).doesNotContain(Topic.SCHEMAS).hasSize(Topic.values().length - 1);
    }

    @Test
    void theRegistryTopicCannotHaveMoreThanOnePartition() {
        assertThatThrownBy(() -> TopicAdmin.newTopic(Topic.SCHEMAS, "_schemas", 3, (short) 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("topic _schemas must have 1 partition(s), not 3");
    }
}
