package io.qlorastream.publisher;

import io.qlorastream.schemas.admin.TopicAdmin;
import io.qlorastream.schemas.contract.Topic;
import org.apache.kafka.clients.admin.NewTopic;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Creates the publisher's topics that do not exist yet, with the contract's configs ({@link Topic#configs}):
 * {@code adapter-releases} compacted (the latest release per adapter key stays forever), {@code adapter-release-log}
 * delete with infinite retention (time and size), and the input topic with the delete policy.
 */
public final class PublisherTopics {
    private PublisherTopics() {
    }

    /** The contract's topic of each configured name. */
    public static Map<Topic, String> wanted(PublisherConfig c) {
        Map<Topic, String> m = new LinkedHashMap<>();
        m.put(Topic.ADAPTER_EVALUATIONS, c.evaluationsTopic());
        m.put(Topic.ADAPTER_RELEASES, c.releasesTopic());
        m.put(Topic.ADAPTER_RELEASE_LOG, c.releaseLogTopic());
        return m;
    }

    /** Creates the missing ones; returns the names created. */
    public static List<String> createMissing(Properties client, PublisherConfig c) {
        List<NewTopic> wanted = new ArrayList<>();
        wanted(c).forEach((topic, name) -> wanted.add(TopicAdmin.newTopic(topic, name, c.partitions(), c.replicationFactor())));
        return TopicAdmin.createMissing(client, wanted);
    }
}
