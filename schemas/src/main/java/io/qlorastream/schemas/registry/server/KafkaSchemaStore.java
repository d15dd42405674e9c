package io.qlorastream.schemas.registry.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qlorastream.schemas.admin.TopicAdmin;
import io.qlorastream.schemas.contract.Topic;
import io.qlorastream.schemas.registry.CompatibilityLevel;
import io.qlorastream.schemas.registry.RegisteredSchema;
import io.qlorastream.schemas.registry.RegistryException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The registry's state, kept the way Confluent's registry keeps it: in one compacted, single-partition Kafka topic
 * ({@code _schemas}), JSON keys ({@code {"keytype":"SCHEMA","subject":s,"version":v,"magic":1}}, CONFIG, NOOP,
 * DELETE_SUBJECT) and JSON values ({@code {subject, version, id, schema, deleted}}). A reader thread applies every
 * record of the topic to memory; at start the store is rebuilt by reading the topic to its end. Writes go out with
 * acks=all from one writer at a time, and the writer waits until its own reader has applied its record, so an
 * answer is only given once the state is durable and visible. Ids are global per distinct schema; the next id is
 * the largest id seen plus one.
 */
final class KafkaSchemaStore implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KafkaSchemaStore.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One version of a subject, as stored. */
    record Entry(String subject, int version, int id, String schema, boolean deleted) {
        RegisteredSchema registered() {
            return new RegisteredSchema(subject, version, id, schema);
        }
    }

    private final String topic;
    private final Duration timeout;
    private final KafkaProducer<String, String> producer;
    private final KafkaConsumer<String, String> consumer;
    private final TopicPartition partition;
    private final Thread reader;
    private final ReentrantLock writeLock = new ReentrantLock();

    // state, guarded by this
    private final Map<String, TreeMap<Integer, Entry>> subjects = new HashMap<>();
    private final Map<Integer, String> schemasById = new HashMap<>();
    private final Map<String, Integer> idsBySchema = new HashMap<>();
    private final Map<String, CompatibilityLevel> subjectLevels = new HashMap<>();
    private CompatibilityLevel globalLevel = CompatibilityLevel.BACKWARD;
    private int maxId;
    private long nextOffset; // the reader's position: every record before it is applied
    private volatile boolean closed;
    private volatile Throwable readerFailure;

    KafkaSchemaStore(Map<String, Object> kafkaConfig, String topic, Duration timeout) {
        this.topic = topic;
        this.timeout = timeout;
        this.partition = new TopicPartition(topic, 0);
        ensureTopic(kafkaConfig);

        Map<String, Object> pc = new HashMap<>(kafkaConfig);
        pc.put(ProducerConfig.ACKS_CONFIG, "all");
        pc.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        pc.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        pc.put(ProducerConfig.CLIENT_ID_CONFIG, "schema-registry-writer");
        producer = new KafkaProducer<>(pc, new StringSerializer(), new StringSerializer());

        Map<String, Object> cc = new HashMap<>(kafkaConfig);
        cc.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        cc.put(ConsumerConfig.CLIENT_ID_CONFIG, "schema-registry-reader");
        cc.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        // A writer waits for its own read-back: a short fetch wait keeps that wait short.
        cc.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 20);
        consumer = new KafkaConsumer<>(cc, new StringDeserializer(), new StringDeserializer());
        consumer.assign(List.of(partition));
        consumer.seekToBeginning(List.of(partition));
        long end = consumer.endOffsets(List.of(partition), timeout).get(partition);

        reader = new Thread(this::readLoop, "schema-registry-reader");
        reader.setDaemon(true);
        reader.start();
        awaitApplied(end);
        log.info("schema registry store rebuilt from {} records of {}: {} subjects, max id {}", end, topic, subjects.size(), maxId);
    }

    private void ensureTopic(Map<String, Object> kafkaConfig) {
        try (Admin admin = Admin.create(kafkaConfig)) {
            try {
                NewTopic t = TopicAdmin.newTopic(Topic.SCHEMAS, topic, 1, (short) 1);
                admin.createTopics(List.of(t)).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
            }
            TopicDescription d = describeOnceVisible(admin);
            if (d.partitions().size() != 1) {
                throw new IllegalStateException("the registry topic " + topic + " has " + d.partitions().size()
                        + " partitions; it must have exactly 1");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating " + topic, e);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            Throwable c = e instanceof ExecutionException ? e.getCause() : e;
            throw new IllegalStateException("cannot create the registry topic " + topic + ": " + c, c);
        }
    }

    /**
     * Describes the registry topic, retrying while the broker still answers UNKNOWN_TOPIC_OR_PARTITION: right after
     * a create, the metadata that describeTopics reads can lag the controller for a moment on a fresh cluster.
     */
    private TopicDescription describeOnceVisible(Admin admin)
            throws InterruptedException, ExecutionException, java.util.concurrent.TimeoutException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                return admin.describeTopics(List.of(topic)).allTopicNames()
                        .get(timeout.toMillis(), TimeUnit.MILLISECONDS).get(topic);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException)
                        || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }

    private void readLoop() {
        try {
            while (!closed) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    synchronized (this) {
                        try {
                            apply(r.key(), r.value());
                        } catch (RuntimeException | IOException e) {
                            log.warn("skipping unreadable record at {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), e.toString());
                        }
                    }
                }
                long position = consumer.position(partition);
                synchronized (this) {
                    nextOffset = position;
                    notifyAll();
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            if (!closed) {
                log.error("schema registry reader stopped", e);
                readerFailure = e;
            }
        } finally {
            synchronized (this) {
                notifyAll();
            }
        }
    }

    /** Applies one record of the topic; called by the reader thread with the monitor held. */
    private void apply(String keyJson, String valueJson) throws IOException {
        if (keyJson == null) {
            return;
        }
        JsonNode key = JSON.readTree(keyJson);
        JsonNode value = valueJson == null ? null : JSON.readTree(valueJson);
        String keytype = key.path("keytype").asText();
        switch (keytype) {
            case "SCHEMA" -> {
                String subject = key.get("subject").asText();
                int version = key.get("version").asInt();
                if (value == null) {
                    TreeMap<Integer, Entry> versions = subjects.get(subject);
                    if (versions != null) {
                        versions.remove(version);
                        if (versions.isEmpty()) {
                            subjects.remove(subject);
                        }
                    }
                    return;
                }
                int id = value.get("id").asInt();
                String schema = value.get("schema").asText();
                Entry e = new Entry(subject, version, id, schema, value.path("deleted").asBoolean(false));
                subjects.computeIfAbsent(subject, s -> new TreeMap<>()).put(version, e);
                schemasById.putIfAbsent(id, schema);
                idsBySchema.putIfAbsent(canonical(schema), id);
                maxId = Math.max(maxId, id);
            }
            case "CONFIG" -> {
                String subject = key.hasNonNull("subject") ? key.get("subject").asText() : null;
                CompatibilityLevel level = value == null ? null : CompatibilityLevel.parse(value.get("compatibilityLevel").asText());
                if (subject == null) {
                    globalLevel = level == null ? CompatibilityLevel.BACKWARD : level;
                } else if (level == null) {
                    subjectLevels.remove(subject);
                } else {
                    subjectLevels.put(subject, level);
                }
            }
            case "DELETE_SUBJECT" -> {
                // Written by Confluent's registry: every version up to the given one is soft-deleted.
                if (value != null) {
                    String subject = value.get("subject").asText();
                    int upTo = value.get("version").asInt();
                    TreeMap<Integer, Entry> versions = subjects.get(subject);
                    if (versions != null) {
                        versions.replaceAll((v, e) -> v <= upTo ? new Entry(e.subject(), v, e.id(), e.schema(), true) : e);
                    }
                }
            }
            default -> {
                // NOOP, MODE, CLEAR_SUBJECT...: nothing this registry keeps
            }
        }
    }

    // ---- reads ----

    synchronized List<String> subjects(boolean includeDeleted) {
        Set<String> out = new TreeSet<>();
        subjects.forEach((s, versions) -> {
            if (includeDeleted || versions.values().stream().anyMatch(e -> !e.deleted())) {
                out.add(s);
            }
        });
        return new ArrayList<>(out);
    }

    synchronized List<Integer> versions(String subject, boolean includeDeleted) {
        List<Integer> out = new ArrayList<>();
        live(subject, includeDeleted).forEach(e -> out.add(e.version()));
        return out;
    }

    synchronized Entry version(String subject, String version, boolean includeDeleted) {
        List<Entry> entries = live(subject, includeDeleted);
        if (entries.isEmpty()) {
            throw subjectNotFound(subject);
        }
        if (version.equals("latest") || version.equals("-1")) {
            return entries.get(entries.size() - 1);
        }
        int v = parseVersion(version);
        return entries.stream().filter(e -> e.version() == v).findFirst()
                .orElseThrow(() -> new RegistryException.VersionNotFoundException("Version " + version + " not found."));
    }

    synchronized String schemaById(int id) {
        String s = schemasById.get(id);
        if (s == null) {
            throw new RegistryException.SchemaNotFoundException("Schema " + id + " not found");
        }
        return s;
    }

    synchronized List<Entry> subjectVersionsOfId(int id) {
        schemaById(id);
        List<Entry> out = new ArrayList<>();
        subjects.values().forEach(vs -> vs.values().stream().filter(e -> e.id() == id && !e.deleted()).forEach(out::add));
        return out;
    }

    synchronized Entry lookup(String subject, String schemaText, boolean includeDeleted) {
        Schema schema = parse(schemaText);
        List<Entry> entries = live(subject, includeDeleted);
        if (entries.isEmpty()) {
            throw subjectNotFound(subject);
        }
        String canonical = schema.toString();
        return entries.stream().filter(e -> e.schema().equals(canonical)).findFirst()
                .orElseThrow(() -> new RegistryException.SchemaNotFoundException("Schema not found"));
    }

    synchronized CompatibilityLevel globalLevel() {
        return globalLevel;
    }

    /** The subject's own level, or null. */
    synchronized CompatibilityLevel subjectLevel(String subject) {
        return subjectLevels.get(subject);
    }

    synchronized List<String> compatibilityProblems(String subject, String version, String schemaText) {
        Schema candidate = parse(schemaText);
        CompatibilityLevel level = subjectLevels.getOrDefault(subject, globalLevel);
        if (version.equals("latest") || version.equals("-1")) {
            return level.violations(candidate, parsedLive(subject));
        }
        Entry e = version(subject, version, false);
        CompatibilityLevel single = switch (level) {
            case BACKWARD_TRANSITIVE -> CompatibilityLevel.BACKWARD;
            case FORWARD_TRANSITIVE -> CompatibilityLevel.FORWARD;
            case FULL_TRANSITIVE -> CompatibilityLevel.FULL;
            default -> level;
        };
        return single.violations(candidate, List.of(new Schema.Parser().parse(e.schema())));
    }

    // ---- writes ----

    /** Registers the schema under the subject, or finds it there; returns its global id. */
    int register(String subject, String schemaText) {
        Schema schema = parse(schemaText);
        String canonical = schema.toString();
        writeLock.lock();
        try {
            int id;
            int version;
            synchronized (this) {
                for (Entry e : live(subject, false)) {
                    if (e.schema().equals(canonical)) {
                        return e.id();
                    }
                }
                CompatibilityLevel level = subjectLevels.getOrDefault(subject, globalLevel);
                List<String> problems = level.violations(schema, parsedLive(subject));
                if (!problems.isEmpty()) {
                    throw new RegistryException.IncompatibleSchemaException(409, RegistryException.INCOMPATIBLE_SCHEMA,
                            "Schema being registered is incompatible with an earlier schema for subject \"" + subject
                                    + "\" (compatibility " + level + "), details: " + problems);
                }
                Integer known = idsBySchema.get(canonical);
                id = known != null ? known : maxId + 1;
                TreeMap<Integer, Entry> versions = subjects.get(subject);
                version = versions == null || versions.isEmpty() ? 1 : versions.lastKey() + 1;
            }
            write(schemaKey(subject, version), schemaValue(new Entry(subject, version, id, canonical, false)));
            return id;
        } finally {
            writeLock.unlock();
        }
    }

    int deleteVersion(String subject, String version, boolean permanent) {
        writeLock.lock();
        try {
            Entry e;
            synchronized (this) {
                List<Entry> all = live(subject, true);
                if (all.isEmpty()) {
                    throw subjectNotFound(subject);
                }
                if (version.equals("latest") || version.equals("-1")) {
                    List<Entry> candidates = live(subject, permanent);
                    if (candidates.isEmpty()) {
                        throw new RegistryException.VersionNotFoundException("Version " + version + " not found.");
                    }
                    e = candidates.get(candidates.size() - 1);
                } else {
                    int v = parseVersion(version);
                    e = all.stream().filter(x -> x.version() == v).findFirst()
                            .orElseThrow(() -> new RegistryException.VersionNotFoundException("Version " + version + " not found."));
                }
                if (!permanent && e.deleted()) {
                    throw new RegistryException(404, RegistryException.SCHEMA_VERSION_SOFT_DELETED, "Subject '" + subject
                            + "' Version " + e.version() + " was soft deleted. Set permanent=true to delete permanently");
                }
                if (permanent && !e.deleted()) {
                    throw new RegistryException(404, RegistryException.SCHEMA_VERSION_NOT_SOFT_DELETED, "Subject '" + subject
                            + "' Version " + e.version() + " was not deleted first before being permanently deleted");
                }
            }
            write(schemaKey(subject, e.version()),
                    permanent ? null : schemaValue(new Entry(subject, e.version(), e.id(), e.schema(), true)));
            return e.version();
        } finally {
            writeLock.unlock();
        }
    }

    List<Integer> deleteSubject(String subject, boolean permanent) {
        writeLock.lock();
        try {
            List<Entry> targets;
            synchronized (this) {
                List<Entry> all = live(subject, true);
                if (all.isEmpty()) {
                    throw subjectNotFound(subject);
                }
                boolean anyLive = all.stream().anyMatch(e -> !e.deleted());
                if (!permanent && !anyLive) {
                    throw new RegistryException(404, RegistryException.SUBJECT_SOFT_DELETED, "Subject '" + subject
                            + "' was soft deleted. Set permanent=true to delete permanently");
                }
                if (permanent && anyLive) {
                    throw new RegistryException(404, RegistryException.SUBJECT_NOT_SOFT_DELETED, "Subject '" + subject
                            + "' was not deleted first before being permanently deleted");
                }
                targets = permanent ? all : all.stream().filter(e -> !e.deleted()).toList();
            }
            List<Integer> deleted = new ArrayList<>();
            for (Entry e : targets) {
                write(schemaKey(subject, e.version()),
                        permanent ? null : schemaValue(new Entry(subject, e.version(), e.id(), e.schema(), true)));
                deleted.add(e.version());
            }
            return deleted;
        } finally {
            writeLock.unlock();
        }
    }

    /** Sets the global level (subject null) or a subject's; null level removes a subject's own level. */
    void setLevel(String subject, CompatibilityLevel level) {
        writeLock.lock();
        try {
            ObjectNode key = JSON.createObjectNode().put("keytype", "CONFIG");
            if (subject == null) {
                key.putNull("subject");
            } else {
                key.put("subject", subject);
            }
            key.put("magic", 0);
            write(key.toString(), level == null ? null : JSON.createObjectNode().put("compatibilityLevel", level.name()).toString());
        } finally {
            writeLock.unlock();
        }
    }

    private void write(String key, String value) {
        long offset;
        try {
            offset = producer.send(new ProducerRecord<>(topic, 0, key, value)).get(timeout.toMillis(), TimeUnit.MILLISECONDS).offset();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RegistryException(500, RegistryException.STORE_ERROR, "interrupted while writing to " + topic);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new RegistryException(500, RegistryException.OPERATION_TIMEOUT, "Write to the Kafka store " + topic + " timed out");
        } catch (ExecutionException e) {
            throw new RegistryException(500, RegistryException.STORE_ERROR, "Error while writing to the Kafka store " + topic + ": " + e.getCause());
        }
        awaitApplied(offset + 1);
    }

    /** Blocks until the reader has applied every record before {@code offset}. */
    private synchronized void awaitApplied(long offset) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (nextOffset < offset) {
            if (readerFailure != null) {
                throw new RegistryException(500, RegistryException.STORE_ERROR, "the Kafka store reader failed: " + readerFailure);
            }
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) {
                throw new RegistryException(500, RegistryException.OPERATION_TIMEOUT,
                        "the Kafka store reader did not reach offset " + offset + " of " + topic + " in time");
            }
            try {
                wait(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RegistryException(500, RegistryException.STORE_ERROR, "interrupted while waiting for " + topic);
            }
        }
    }

    // ---- helpers ----

    private List<Entry> live(String subject, boolean includeDeleted) {
        TreeMap<Integer, Entry> versions = subjects.get(subject);
        if (versions == null) {
            return List.of();
        }
        return versions.values().stream().filter(e -> includeDeleted || !e.deleted()).toList();
    }

    private List<Schema> parsedLive(String subject) {
        List<Schema> out = new ArrayList<>();
        for (Entry e : live(subject, false)) {
            out.add(new Schema.Parser().parse(e.schema()));
        }
        return out;
    }

    static Schema parse(String schemaText) {
        if (schemaText == null || schemaText.isBlank()) {
            throw new RegistryException.InvalidSchemaException("Invalid schema: empty");
        }
        try {
            return new Schema.Parser().parse(schemaText);
        } catch (SchemaParseException | org.apache.avro.AvroTypeException e) {
            throw new RegistryException.InvalidSchemaException("Invalid schema " + schemaText + ": " + e.getMessage());
        }
    }

    private static String canonical(String schema) {
        try {
            return new Schema.Parser().parse(schema).toString();
        } catch (RuntimeException e) {
            return schema;
        }
    }

    private static int parseVersion(String version) {
        try {
            int v = Integer.parseInt(version);
            if (v < 1) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new RegistryException(422, RegistryException.INVALID_VERSION, "The specified version '" + version
                    + "' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"");
        }
    }

    private static RegistryException subjectNotFound(String subject) {
        return new RegistryException.SubjectNotFoundException("Subject '" + subject + "' not found.");
    }

    private static String schemaKey(String subject, int version) {
        Map<String, Object> key = new LinkedHashMap<>();
        key.put("keytype", "SCHEMA");
        key.put("subject", subject);
        key.put("version", version);
        key.put("magic", 1);
        return JSON.valueToTree(key).toString();
    }

    private static String schemaValue(Entry e) {
        Map<String, Object> value = new LinkedHashMap<>();
        value.put("subject", e.subject());
        value.put("version", e.version());
        value.put("id", e.id());
        value.put("schema", e.schema());
        value.put("deleted", e.deleted());
        return JSON.valueToTree(value).toString();
    }

    @Override
    public void close() {
        closed = true;
        consumer.wakeup();
        try {
            reader.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        consumer.close(Duration.ofSeconds(5));
        producer.close(Duration.ofSeconds(5));
    }

}
