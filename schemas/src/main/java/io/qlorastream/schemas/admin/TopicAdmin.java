package io.qlorastream.schemas.admin;

import io.qlorastream.schemas.contract.Topic;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Creating the contract's topics where they are missing, shared by the services that own topics (ingest, the
 * publisher) and the demo: one way to filter client settings for an admin client and to tolerate a topic that
 * appeared meanwhile (another instance created it first).
 */
public final class TopicAdmin {
    private TopicAdmin() {
    }

    /**
     * The settings of {@code client} an admin client needs: the bootstrap servers, security (SASL, TLS) and timeouts;
     * not the producer, consumer or registry keys, which an admin client would only warn about.
     */
    public static Properties adminProperties(Properties client) {
        Properties p = new Properties();
        for (String k : client.stringPropertyNames()) {
            if (k.equals("bootstrap.servers") || k.startsWith("security.") || k.startsWith("sasl.") || k.startsWith("ssl.")
                    || k.equals("client.dns.lookup") || k.endsWith(".timeout.ms")) {
                p.setProperty(k, client.getProperty(k));
            }
        }
        return p;
    }

    /** {@code topic} of the contract under {@code name}, with the contract's configs for a topic a service creates. */
    public static NewTopic newTopic(Topic topic, String name, int partitions, short replicationFactor) {
        if (topic.requiredPartitions() > 0 && partitions != topic.requiredPartitions()) {
            throw new IllegalArgumentException("topic " + name + " must have " + topic.requiredPartitions() + " partition(s), not " + partitions);
        }
        return new NewTopic(name, partitions, replicationFactor).configs(topic.configs());
    }

    /**
     * Creates those of {@code wanted} that do not exist (existing ones are left as they are); returns the names it
     * created. A failure is an {@link IllegalStateException} naming the topic and the broker's reason.
     */
    public static List<String> createMissing(Properties client, List<NewTopic> wanted) {
        try (Admin admin = Admin.create(adminProperties(client))) {
            Set<String> existing = admin.listTopics().names().get();
            List<NewTopic> missing = wanted.stream().filter(t -> !existing.contains(t.name())).toList();
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
