package io.qlorastream.schemas.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.broker.junit.EmbeddedKafkaExtension;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Missing topics created with their configs, existing ones left alone, a refused one named, on a real broker. */
@ExtendWith(EmbeddedKafkaExtension.class)
class TopicAdminTest {

    @Test
    void createsOnlyTheMissingTopicsWithTheirConfigsAndLeavesExistingOnesAlone(EmbeddedKafkaBroker broker) throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        Properties client = new Properties();
        client.putAll(broker.clientProperties());
        client.setProperty("schema.registry.url", "http://registry:8081"); // not an admin setting: filtered out
        String existing = "existing-" + run;
        try (Admin admin = Admin.create(broker.clientProperties())) {
            admin.createTopics(List.of(new NewTopic(existing, 1, (short) 1))).all().get();
        }
        List<NewTopic> wanted = List.of(
                new NewTopic(existing, 3, (short) 1).configs(Map.of("cleanup.policy", "compact")),
                new NewTopic("releases-" + run, 2, (short) 1).configs(Map.of("cleanup.policy", "compact")));

        assertThat(TopicAdmin.createMissing(client, wanted)).containsExactly("releases-" + run);
        assertThat(TopicAdmin.createMissing(client, wanted)).as("a second call has nothing to do").isEmpty();
        try (Admin admin = Admin.create(broker.clientProperties())) {
            var described = admin.describeTopics(List.of(existing, "releases-" + run)).allTopicNames().get();
            assertThat(described.get(existing).partitions()).as("left as it was").hasSize(1);
            assertThat(described.get("releases-" + run).partitions()).hasSize(2);
            ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, "releases-" + run);
            Config c = admin.describeConfigs(List.of(r)).all().get().get(r);
            assertThat(c.get("cleanup.policy").value()).isEqualTo("compact");
        }
        assertThat(TopicAdmin.adminProperties(client)).containsOnlyKeys("bootstrap.servers");
    }

    @Test
    void aTopicTheBrokerRefusesIsNamedInTheError(EmbeddedKafkaBroker broker) {
        Properties client = new Properties();
        client.putAll(broker.clientProperties());
        String name = "bad-config-" + UUID.randomUUID().toString().substring(0, 8);
        assertThatThrownBy(() -> TopicAdmin.createMissing(client,
                List.of(new NewTopic(name, 1, (short) 1).configs(Map.of("cleanup.policy", "compaction")))))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("cannot create topic " + name + ": ");
    }
}
