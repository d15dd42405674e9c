package io.qlorastream.publisher;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;

/**
 * Creates the publisher's topics that do not exist yet, with the contract's cleanup policies: {@code adapter-releases}
 * compacted (the latest release per adapter key stays forever), {@code adapter-release-log} delete with infinite
 * retention (time and size), and the input topics with the default delete policy.
 */
public final class PublisherTopics {
    private PublisherTopics() {
    }

    /** The configs each topic is created with. */
    public static Map<String, Map<String, String>> wanted(PublisherConfig c) {
        Map<String, Map<String, String>> m = new LinkedHashMap<>();
        m.put(c.evaluationsTopic(), Map.of("cleanup.policy", "delete"));
        m.put(c.snapshotsTopic(), Map.of("cleanup.policy", "delete"));
        m.put(c.releasesTopic(), Map.of("cleanup.policy", "compact"));
        m.put(c.releaseLogTopic(), Map.of("cleanup.policy", "delete", "retention.ms", "-1", "retention.bytes", "-1"));
        return m;
    }

    /** Creates the missing ones; returns the names created. */
    public static List<String> createMissing(Properties client, PublisherConfig c) {
        try (Admin admin = Admin.create(KafkaClients.admin(client))) {
            Set<String> existing = admin.listTopics().names().get();
            List<NewTopic> missing = new ArrayList<>();
            wanted(c).forEach((name, configs) -> {
                if (!existing.contains(name)) {
                    missing.add(new NewTopic(name, c.partitions(), c.replicationFactor()).configs(configs));
                }
            });
            List<String> created = new ArrayList<>();
            for (var e : admin.createTopics(missing).values().entrySet()) {
                try {
                    e.getValue().get();
                    created.add(e.getKey());
                } catch (ExecutionException ex) {
                    if (!(ex.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("cannot create topic " + e.getKey() + ": " + ex.getCause().getMessage(), ex.getCause());
                    }
                }
            }
            return created;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot list topics: " + e.getCause().getMessage(), e.getCause());
        }
    }
}
