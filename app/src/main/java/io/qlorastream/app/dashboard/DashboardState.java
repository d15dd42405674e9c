package io.qlorastream.app.dashboard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.events.EvaluationCheck;
import io.qlorastream.events.OffsetRange;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What the page shows, folded from the four topics and the latest metrics reading, in bounded memory: per adapter
 * at most {@code perAdapter} snapshots, evaluations and release-log entries (the newest), and at most
 * {@code maxAdapters} adapters (event fields are untrusted: a flood of new names must not exhaust the heap).
 * A snapshot that a release refers to is kept past the cap, so a release's lineage survives a long run.
 * Joins happen when rendering, not on arrival: the reader takes the four topics in no particular order between them.
 * Thread-safe: the reader, the metrics poller and the HTTP threads share one instance.
 */
public final class DashboardState {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final int perAdapter;
    private final int maxAdapters;
    private final Map<String, AdapterState> adapters = new TreeMap<>();
    private final Map<String, String> topicNames = new LinkedHashMap<>();
    private final Map<String, Long> topicRecords = new HashMap<>();
    private final Map<String, Boolean> topicPresent = new HashMap<>();
    private String bootstrapServers = "";
    private String kafkaStatus = "connecting";
    private String kafkaError = "";
    private long skipped;
    private String lastSkipped = "";
    private long droppedForAdapterCap;
    private MetricsSource.Reading metrics = new MetricsSource.Reading(java.util.List.of(), java.util.List.of());
    private long metricsReadAt;
    private long version;

    public DashboardState(int perAdapter, int maxAdapters) {
        if (perAdapter < 1 || maxAdapters < 1) {
            throw new IllegalArgumentException("caps must be positive");
        }
        this.perAdapter = perAdapter;
        this.maxAdapters = maxAdapters;
    }

    /** Changes with every update: the event stream sends a new state only when it moved. */
    public synchronized long version() {
        return version;
    }

    // ---- what the reader reports

    public synchronized void topics(String bootstrap, Map<String, String> namesByRole) {
        bootstrapServers = bootstrap;
        topicNames.clear();
        topicNames.putAll(namesByRole);
        version++;
    }

    public synchronized void kafkaOk(Set<String> presentTopics) {
        boolean changed = !"ok".equals(kafkaStatus);
        kafkaStatus = "ok";
        kafkaError = "";
        for (String t : topicNames.values()) {
            Boolean was = topicPresent.put(t, presentTopics.contains(t));
            changed |= was == null || was != presentTopics.contains(t);
        }
        if (changed) {
            version++;
        }
    }

    public synchronized void kafkaError(String oneLine) {
        if (!"error".equals(kafkaStatus) || !kafkaError.equals(oneLine)) {
            kafkaStatus = "error";
            kafkaError = oneLine;
            version++;
        }
    }

    /** A record that could not be shown (undecodable, or not the topic's type); counted, the last reason kept. */
    public synchronized void skipped(String topic, String why) {
        topicRecords.merge(topic, 1L, Long::sum);
        skipped++;
        lastSkipped = why;
        version++;
    }

    public synchronized void snapshot(String topic, AdapterSnapshot s) {
        topicRecords.merge(topic, 1L, Long::sum);
        AdapterState a = adapter(s.getAdapterName());
        if (a != null) {
            a.snapshots.remove(s.getSnapshotId());
            a.snapshots.put(s.getSnapshotId(), s);
            while (a.snapshots.size() > perAdapter) {
                Iterator<Map.Entry<String, AdapterSnapshot>> it = a.snapshots.entrySet().iterator();
                Map.Entry<String, AdapterSnapshot> eldest = it.next();
                it.remove();
                if (a.releasedSnapshots.contains(eldest.getKey())) {
                    a.pinned.put(eldest.getKey(), eldest.getValue());
                    trim(a.pinned);
                }
            }
        }
        version++;
    }

    public synchronized void evaluation(String topic, AdapterEvaluation e) {
        topicRecords.merge(topic, 1L, Long::sum);
        AdapterState a = adapter(e.getAdapterName());
        if (a != null) {
            a.evaluations.remove(e.getEvaluationId());
            a.evaluations.put(e.getEvaluationId(), e);
            trim(a.evaluations);
        }
        version++;
    }

    /** A record of the release log: every release and rollback, in order. */
    public synchronized void releaseLogged(String topic, AdapterRelease r) {
        topicRecords.merge(topic, 1L, Long::sum);
        AdapterState a = adapter(r.getAdapterName());
        if (a != null) {
            a.log.addLast(r);
            while (a.log.size() > perAdapter) {
                a.log.removeFirst();
            }
            a.releasedSnapshots.add(r.getSnapshotId());
            // bounded with the log it indexes: the ids of releases still shown plus the pinned ones
            if (a.releasedSnapshots.size() > 2 * perAdapter) {
                Set<String> keep = new HashSet<>(a.pinned.keySet());
                a.log.forEach(x -> keep.add(x.getSnapshotId()));
                a.releasedSnapshots.retainAll(keep);
            }
        }
        version++;
    }

    /** A record of the compacted current-release topic (null: a tombstone, no current release). */
    public synchronized void currentRelease(String topic, String key, AdapterRelease r) {
        topicRecords.merge(topic, 1L, Long::sum);
        AdapterState a = adapter(r != null ? r.getAdapterName() : key);
        if (a != null) {
            a.current = r;
        }
        version++;
    }

    /** A metrics reading; the version moves only when it differs from the last, so a steady page is not redrawn. */
    public synchronized void metrics(MetricsSource.Reading reading, long readAtMillis) {
        if (!reading.equals(metrics)) {
            version++;
        }
        metrics = reading;
        metricsReadAt = readAtMillis;
    }

    private AdapterState adapter(String name) {
        if (name == null) {
            return null;
        }
        AdapterState a = adapters.get(name);
        if (a == null) {
            if (adapters.size() >= maxAdapters) {
                droppedForAdapterCap++;
                return null;
            }
            a = new AdapterState();
            adapters.put(name, a);
        }
        return a;
    }

    private <V> void trim(LinkedHashMap<String, V> m) {
        while (m.size() > perAdapter) {
            Iterator<String> it = m.keySet().iterator();
            it.next();
            it.remove();
        }
    }

    private static final class AdapterState {
        final LinkedHashMap<String, AdapterSnapshot> snapshots = new LinkedHashMap<>();
        final LinkedHashMap<String, AdapterSnapshot> pinned = new LinkedHashMap<>();
        final LinkedHashMap<String, AdapterEvaluation> evaluations = new LinkedHashMap<>();
        final Deque<AdapterRelease> log = new ArrayDeque<>();
        final Set<String> releasedSnapshots = new HashSet<>();
        AdapterRelease current;

        AdapterSnapshot snapshot(String id) {
            AdapterSnapshot s = snapshots.get(id);
            return s != null ? s : pinned.get(id);
        }
    }

    // ---- rendering

    /** The whole state as the JSON document {@code /api/state} serves. */
    public String toJson() {
        try {
            return MAPPER.writeValueAsString(toTree());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public synchronized ObjectNode toTree() {
        ObjectNode root = JSON.objectNode();
        root.put("version", version);
        root.put("generatedAt", System.currentTimeMillis());
        ObjectNode limits = root.putObject("limits");
        limits.put("perAdapter", perAdapter);
        limits.put("adapters", maxAdapters);
        limits.put("droppedForAdapterCap", droppedForAdapterCap);

        ObjectNode kafka = root.putObject("kafka");
        kafka.put("bootstrapServers", bootstrapServers);
        kafka.put("status", kafkaStatus);
        kafka.put("error", kafkaError);
        kafka.put("skipped", skipped);
        kafka.put("lastSkipped", lastSkipped);
        ArrayNode topics = kafka.putArray("topics");
        topicNames.forEach((role, name) -> {
            ObjectNode t = topics.addObject();
            t.put("role", role);
            t.put("name", name);
            t.put("present", topicPresent.getOrDefault(name, false));
            t.put("records", topicRecords.getOrDefault(name, 0L));
        });

        ObjectNode m = MetricsSummary.summarize(metrics);
        m.put("readAt", metricsReadAt);
        root.set("metrics", m);

        ArrayNode list = root.putArray("adapters");
        adapters.forEach((name, a) -> {
            ObjectNode o = list.addObject();
            o.put("name", name);
            ArrayNode snaps = o.putArray("snapshots");
            a.snapshots.values().forEach(s -> snaps.add(snapshotJson(s)));
            ArrayNode evals = o.putArray("evaluations");
            a.evaluations.values().forEach(e -> evals.add(evaluationJson(e)));
            o.set("current", a.current == null ? JSON.nullNode() : releaseJson(a.current, a));
            ArrayNode rel = o.putArray("releases");
            a.log.forEach(r -> rel.add(releaseJson(r, a)));
        });
        return root;
    }

    static ObjectNode snapshotJson(AdapterSnapshot s) {
        ObjectNode o = JSON.objectNode();
        o.put("snapshotId", s.getSnapshotId());
        o.put("lineageId", s.getLineageId());
        o.put("step", s.getStep());
        num(o, "trainingLoss", s.getTrainingLoss());
        o.put("examplesSeen", s.getExamplesSeen());
        o.put("tokensSeen", s.getTokensSeen());
        o.put("baseModelName", s.getBaseModelName());
        o.put("artifactUri", s.getArtifactUri());
        o.put("createdAt", millis(s.getCreatedAt()));
        ArrayNode ranges = o.putArray("offsetRanges");
        for (OffsetRange r : s.getOffsetRanges()) {
            ObjectNode x = ranges.addObject();
            x.put("topic", r.getTopic());
            x.put("partition", r.getPartition());
            x.put("fromOffset", r.getFromOffset());
            x.put("toOffset", r.getToOffset());
        }
        return o;
    }

    static ObjectNode evaluationJson(AdapterEvaluation e) {
        ObjectNode o = JSON.objectNode();
        o.put("evaluationId", e.getEvaluationId());
        o.put("snapshotId", e.getSnapshotId());
        o.put("lineageId", e.getLineageId());
        o.put("step", e.getStep());
        o.put("passed", e.getPassed());
        o.put("reason", e.getReason());
        o.put("heldoutSetSize", e.getHeldoutSetSize());
        if (e.getCurrentReleaseVersion() == null) {
            o.putNull("currentReleaseVersion");
        } else {
            o.put("currentReleaseVersion", e.getCurrentReleaseVersion());
        }
        o.put("evaluatedAt", millis(e.getEvaluatedAt()));
        ArrayNode checks = o.putArray("checks");
        for (EvaluationCheck c : e.getChecks()) {
            ObjectNode x = checks.addObject();
            x.put("name", c.getName());
            num(x, "value", c.getValue());
            num(x, "threshold", c.getThreshold());
            x.put("passed", c.getPassed());
        }
        ObjectNode metrics = o.putObject("metrics");
        new TreeMap<>(e.getMetrics()).forEach((k, v) -> num(metrics, k, v));
        return o;
    }

    private static ObjectNode releaseJson(AdapterRelease r, AdapterState a) {
        ObjectNode o = JSON.objectNode();
        o.put("version", r.getVersion());
        o.put("kind", r.getKind().name());
        if (r.getRolledBackFromVersion() == null) {
            o.putNull("rolledBackFromVersion");
        } else {
            o.put("rolledBackFromVersion", r.getRolledBackFromVersion());
        }
        o.put("snapshotId", r.getSnapshotId());
        o.put("evaluationId", r.getEvaluationId());
        o.put("artifactUri", r.getArtifactUri());
        o.put("publicKeyId", r.getPublicKeyId());
        o.put("baseModelName", r.getBaseModelName());
        o.put("releasedAt", millis(r.getReleasedAt()));
        ObjectNode metrics = o.putObject("metrics");
        new TreeMap<>(r.getMetrics()).forEach((k, v) -> num(metrics, k, v));
        // lineage: the release → the evaluation that allowed it → the snapshot → the offsets it was trained on
        ObjectNode lineage = o.putObject("lineage");
        AdapterSnapshot s = a.snapshot(r.getSnapshotId());
        lineage.set("snapshot", s == null ? JSON.nullNode() : snapshotJson(s));
        AdapterEvaluation e = a.evaluations.get(r.getEvaluationId());
        lineage.set("evaluation", e == null ? JSON.nullNode() : evaluationJson(e));
        return o;
    }

    /** JSON has no NaN or infinity: such a value is shown as missing rather than breaking the document. */
    static void num(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) {
            o.put(key, v);
        } else {
            o.putNull(key);
        }
    }

    private static long millis(Instant t) {
        return t == null ? 0 : t.toEpochMilli();
    }

    static JsonNode parse(String json) {
        try {
            return MAPPER.readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
