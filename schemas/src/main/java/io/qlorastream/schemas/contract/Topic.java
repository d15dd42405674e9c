package io.qlorastream.schemas.contract;

import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.events.CodeReview;
import io.qlorastream.events.SupportTicket;
import io.qlorastream.events.TrainingExample;
import static io.qlorastream.schemas.contract.Topic.Configs.*;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The stream contract between the services: every topic's default name (each configurable), its key and value, and
 * its policies. Values are Avro in the Confluent wire format (subject {@code <topic>-value}) unless {@link #valueType}
 * is {@code byte[]} (dead letters keep the original bytes) or {@code String} (the registry's JSON).
 * <p>
 * {@link #configs} are what a service that creates the topic when it is missing gives it; {@link #deploymentConfigs}
 * add the retention and sizes a deployment's one-shot creation sets (compose's topic-init), where an operator chooses.
 */
public enum Topic {
    SUPPORT_TICKETS("support-tickets", String.class, "ticket id", SupportTicket.class,
            Map.of(MAX_MESSAGE_BYTES_KEY, MAX_MESSAGE), Map.of(CLEANUP, DELETE, RETENTION_MS, WEEK)),
    CODE_REVIEWS("code-reviews", String.class, "review id", CodeReview.class,
            Map.of(MAX_MESSAGE_BYTES_KEY, MAX_MESSAGE), Map.of(CLEANUP, DELETE, RETENTION_MS, WEEK)),
    /** Split TRAIN; kept long enough to replay ({@code retrain}). */
    TRAINING_EXAMPLES("training-examples", String.class, "adapter name", TrainingExample.class,
            Map.of(), Map.of(CLEANUP, DELETE, RETENTION_MS, FOREVER, RETENTION_BYTES, FOREVER, MAX_MESSAGE_BYTES_KEY, MAX_MESSAGE)),
    /** Split EVAL; kept long: the evaluator rebuilds its held-out sets from it. */
    EVAL_EXAMPLES("eval-examples", String.class, "adapter name", TrainingExample.class,
            Map.of(), Map.of(CLEANUP, DELETE, RETENTION_MS, FOREVER, RETENTION_BYTES, FOREVER, MAX_MESSAGE_BYTES_KEY, MAX_MESSAGE)),
    /** Ingest's dead letters: the original key and value bytes, with error headers. */
    INGEST_DLQ("ingest-dlq", byte[].class, "original key bytes", byte[].class,
            Map.of(MAX_MESSAGE_BYTES_KEY, MAX_MESSAGE), Map.of(CLEANUP, DELETE, RETENTION_MS, MONTH)),
    /** The trainer's dead letters: the original value bytes, with error headers. */
    TRAINER_DLQ("trainer-dlq", String.class, "adapter name", byte[].class,
            Map.of(CLEANUP, DELETE), Map.of(RETENTION_MS, MONTH, MAX_MESSAGE_BYTES_KEY, MAX_MESSAGE)),
    ADAPTER_SNAPSHOTS("adapter-snapshots", String.class, "adapter name", AdapterSnapshot.class,
            Map.of(CLEANUP, DELETE), Map.of(RETENTION_MS, QUARTER)),
    ADAPTER_EVALUATIONS("adapter-evaluations", String.class, "adapter name", AdapterEvaluation.class,
            Map.of(CLEANUP, DELETE), Map.of(RETENTION_MS, QUARTER)),
    /** The current release per adapter: compacted, so the latest one of every adapter key stays forever. */
    ADAPTER_RELEASES("adapter-releases", String.class, "adapter name", AdapterRelease.class,
            Map.of(CLEANUP, COMPACT), Map.of(MIN_COMPACTION_LAG_MS, "0")),
    /** Every release and rollback, kept forever (time and size). */
    ADAPTER_RELEASE_LOG("adapter-release-log", String.class, "adapter name", AdapterRelease.class,
            Map.of(CLEANUP, DELETE, RETENTION_MS, FOREVER, RETENTION_BYTES, FOREVER), Map.of()),
    /** The embedded schema registry's store: compacted, exactly one partition (a deployment's registry makes its own). */
    SCHEMAS("_schemas", String.class, "registry JSON", String.class, Map.of(CLEANUP, COMPACT), Map.of());

    /** The largest record the topics that carry events (and their dead letters) accept: a 10 MB body and then some. */
    public static final int MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

    private final String defaultName;
    private final Class<?> keyType;
    private final String key;
    private final Class<?> valueType;
    private final Map<String, String> configs;
    private final Map<String, String> deploymentConfigs;

    Topic(String defaultName, Class<?> keyType, String key, Class<?> valueType, Map<String, String> configs,
          Map<String, String> deploymentExtras) {
        this.defaultName = defaultName;
        this.keyType = keyType;
        this.key = key;
        this.valueType = valueType;
        this.configs = ordered(configs, Map.of());
        this.deploymentConfigs = ordered(configs, deploymentExtras);
    }

    public String defaultName() {
        return defaultName;
    }

    /** {@code String} (UTF-8) or {@code byte[]}. */
    public Class<?> keyType() {
        return keyType;
    }

    /** What the key is: "adapter name", "ticket id"... */
    public String key() {
        return key;
    }

    /** The Avro class of the values, or {@code byte[]} / {@code String} for topics that hold no Avro. */
    public Class<?> valueType() {
        return valueType;
    }

    /** The configs a service creates the topic with when it is missing. */
    public Map<String, String> configs() {
        return configs;
    }

    /** {@link #configs} plus the retention and sizes a deployment creates the topic with. */
    public Map<String, String> deploymentConfigs() {
        return deploymentConfigs;
    }

    /** The partitions the topic must have, or 0 where the creator chooses. */
    public int requiredPartitions() {
        return this == SCHEMAS ? 1 : 0;
    }

    /** The pipeline's topics, which a deployment creates: all but the embedded registry's. */
    public static List<Topic> pipeline() {
        return Arrays.stream(values()).filter(t -> t != SCHEMAS).toList();
    }

    private static Map<String, String> ordered(Map<String, String> a, Map<String, String> b) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String k : CONFIG_ORDER) {
            String v = a.containsKey(k) ? a.get(k) : b.get(k);
            if (v != null) {
                m.put(k, v);
            }
        }
        if (m.size() != a.size() + b.size()) {
            throw new IllegalArgumentException("a config set twice or not in " + CONFIG_ORDER + ": " + a + " " + b);
        }
        return Collections.unmodifiableMap(m);
    }

    /** Config names and values (Strings, as the admin API and kafka-topics.sh take them). */
    static final class Configs {
        static final String CLEANUP = "cleanup.policy", DELETE = "delete", COMPACT = "compact", RETENTION_MS = "retention.ms",
                RETENTION_BYTES = "retention.bytes", MIN_COMPACTION_LAG_MS = "min.compaction.lag.ms", MAX_MESSAGE_BYTES_KEY = "max.message.bytes";
        static final String MAX_MESSAGE = String.valueOf(MAX_MESSAGE_BYTES), FOREVER = "-1";
        static final String WEEK = String.valueOf(7L * 24 * 3600 * 1000), MONTH = String.valueOf(30L * 24 * 3600 * 1000),
                QUARTER = String.valueOf(90L * 24 * 3600 * 1000);
        /** The order configs are listed in (as compose's topic-init writes them). */
        static final List<String> CONFIG_ORDER = List.of(CLEANUP, MIN_COMPACTION_LAG_MS, RETENTION_MS, RETENTION_BYTES, MAX_MESSAGE_BYTES_KEY);

        private Configs() {
        }
    }
}
