package io.qlorastream.publisher;

import io.qlorastream.schemas.admin.TopicAdmin;
import org.apache.kafka.clients.admin.NewTopic;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Creates the publisher's topics that do not exist yet, with the contract's cleanup policies: {@code adapter-releases}
 * compacted (the latest release per adapter key stays forever), {@code adapter-release-log} delete with infinite
 * retention (time and size), and the input topic with the default delete policy.
 */
public final class PublisherTopics {
    private PublisherTopics() {
    }

    /** The configs each topic is created with. */
    public static Map<String, Map<String, String>> wanted(PublisherConfig c) {
        Map<String, Map<String, String>> m = new LinkedHashMap<>();
        m.put(c.evaluationsTopic(), Map.of("cleanup.policy", "delete"));
        m.put(c.releasesTopic(), Map.of("cleanup.policy", "compact"));
        m.put(c.releaseLogTopic(), Map.of("cleanup.policy", "delete", "retention.ms", "-1", "retention.bytes", "-1"));
        return m;
    }

    /** Creates the missing ones; returns the names created. */
    public static List<String> createMissing(Properties client, PublisherConfig c) {
        List<NewTopic> wanted = new ArrayList<>();
        wanted(c).forEach((name, configs) -> wanted.add(new NewTopic(name, c.partitions(), c.replicationFactor()).configs(configs)));
        return TopicAdmin.createMissing(client, wanted);
    }
}
