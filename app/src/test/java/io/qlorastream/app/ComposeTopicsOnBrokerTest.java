package io.qlorastream.app;

import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.broker.junit.EmbeddedKafkaExtension;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The topics of compose's topic-init on a real broker: every partition count, replication factor and --config
 * setting it passes is accepted by Kafka (a misspelt config name or a bad value is refused by the broker, not
 * by a text check), and the broker then reports each setting as given.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class ComposeTopicsOnBrokerTest {
    /** The broker is shared by the test JVM: our copies of the topics carry a prefix. */
    static final String PREFIX = "compose-check.";

    @Test
    void theBrokerAcceptsEveryTopicAsTopicInitCreatesIt(EmbeddedKafkaBroker broker) throws Exception {
        List<ComposeDeploymentTest.CreatedTopic> created = ComposeDeploymentTest.topicCreations(ComposeDeploymentTest.readCompose());
        try (Admin admin = Admin.create(broker.clientProperties())) {
            List<NewTopic> topics = created.stream()
                    .map(t -> new NewTopic(PREFIX + t.name(), t.partitions(), t.replicationFactor()).configs(t.configs()))
                    .toList();
            admin.createTopics(topics).all().get();

            Map<String, TopicDescription> described = admin.describeTopics(topics.stream().map(NewTopic::name).toList())
                    .allTopicNames().get();
            List<ConfigResource> resources = topics.stream().map(t -> new ConfigResource(ConfigResource.Type.TOPIC, t.name())).toList();
            Map<ConfigResource, Config> configs = admin.describeConfigs(resources).all().get();
            for (ComposeDeploymentTest.CreatedTopic t : created) {
                String name = PREFIX + t.name();
                assertThat(described.get(name).partitions()).as("partitions of %s", name).hasSize(t.partitions());
                Config config = configs.get(new ConfigResource(ConfigResource.Type.TOPIC, name));
                Map<String, String> actual = config.entries().stream()
                        .collect(Collectors.toMap(e -> e.name(), e -> e.value() == null ? "" : e.value(), (a, b) -> a));
                assertThat(actual).as("configs of %s", name).containsAllEntriesOf(t.configs());
            }
        }
    }

    @Test
    void aMisspeltConfigIsRefused(EmbeddedKafkaBroker broker) {
        // What the test above relies on: the broker, not a list of ours, judges the names.
        try (Admin admin = Admin.create(broker.clientProperties())) {
            NewTopic bad = new NewTopic(PREFIX + "misspelt", 1, (short) 1).configs(Map.of("retention.msec", "-1"));
            assertThatThrownBy(() -> admin.createTopics(List.of(bad)).all().get())
                    .isInstanceOf(ExecutionException.class)
                    .hasMessageContaining("retention.msec");
        }
    }
}
