package io.qlorastream.ingest;

import io.qlorastream.schemas.admin.TopicAdmin;
import io.qlorastream.schemas.contract.Topic;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;

/** Creates ingest's missing topics (the outputs with the configured partitions, the DLQ able to hold large records) and
 * checks that the input topics can hold a 10 MB event. */
public final class IngestTopics {
    /** The largest dead letter the DLQ topic (and ingest's producer) accepts: the contract's. */
    public static final int MAX_MESSAGE_BYTES = Topic.MAX_MESSAGE_BYTES;
    /** The least {@code max.message.bytes} an input topic needs so that an event with a 10 MB body can arrive at all
     * (and be dead-lettered by validation rather than refused to its producer). */
    public static final int MIN_INPUT_MESSAGE_BYTES = 10 * 1024 * 1024 + 64 * 1024;

    private IngestTopics() {
    }

    /** Creates the output topics (and, when {@code inputsToo}, the input topics) that do not exist yet; returns those created. */
    public static List<String> createMissing(Properties client, IngestConfig c, boolean inputsToo) {
        Map<Topic, String> names = new LinkedHashMap<>();
        names.put(Topic.TRAINING_EXAMPLES, c.trainingTopic);
        names.put(Topic.EVAL_EXAMPLES, c.evalTopic);
        names.put(Topic.INGEST_DLQ, c.dlqTopic);
        if (inputsToo) {
            names.put(Topic.SUPPORT_TICKETS, c.ticketsTopic);
            names.put(Topic.CODE_REVIEWS, c.reviewsTopic);
        }
        List<NewTopic> wanted = new ArrayList<>();
        names.forEach((topic, name) -> wanted.add(TopicAdmin.newTopic(topic, name, c.outputPartitions, c.replicationFactor)));
        return TopicAdmin.createMissing(client, wanted);
    }

    /**
     * The input topics (upstream's, so ingest does not change them) whose {@code max.message.bytes} is below
     * {@link #MIN_INPUT_MESSAGE_BYTES}: one line each, naming the topic, its limit and the fix. Missing topics are
     * not listed (Kafka Streams waits for them).
     */
    public static List<String> inputLimitProblems(Properties client, IngestConfig c) {
        try (Admin admin = Admin.create(adminProperties(client))) {
            Set<String> existing = admin.listTopics().names().get();
            List<ConfigResource> inputs = new ArrayList<>();
            for (String t : List.of(c.ticketsTopic, c.reviewsTopic)) {
                if (existing.contains(t)) {
                    inputs.add(new ConfigResource(ConfigResource.Type.TOPIC, t));
                }
            }
            List<String> problems = new ArrayList<>();
            for (Map.Entry<ConfigResource, Config> e : admin.describeConfigs(inputs).all().get().entrySet()) {
                ConfigEntry limit = e.getValue().get("max.message.bytes");
                if (limit != null && limit.value() != null && Long.parseLong(limit.value()) < MIN_INPUT_MESSAGE_BYTES) {
                    problems.add("input topic " + e.getKey().name() + " has max.message.bytes=" + limit.value()
                            + ": an event with a 10 MB body will be refused to its producer and never reach ingest;"
                            + " set it to at least " + MIN_INPUT_MESSAGE_BYTES
                            + " (kafka-configs --alter --entity-type topics --entity-name " + e.getKey().name()
                            + " --add-config max.message.bytes=" + MAX_MESSAGE_BYTES + ")");
                }
            }
            return problems;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while describing topics", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot describe the input topics: " + e.getCause().getMessage(), e.getCause());
        }
    }

    /** Only the keys an admin client knows: bootstrap servers and security settings. */
    static Properties adminProperties(Properties client) {
        return TopicAdmin.adminProperties(client);
    }
}
