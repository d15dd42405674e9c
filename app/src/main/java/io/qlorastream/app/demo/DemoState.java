package io.qlorastream.app.demo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the demo has seen so far, filled by the services' listeners on their own threads and read by the status view
 * and the report: one lock, since updates are rare (a step every tenth of a second at most) and readers copy.
 */
public final class DemoState {
    /** One point of a loss curve. */
    public record LossPoint(long step, double loss) {
    }

    /** One verdict of the evaluator, as the report's table shows it. */
    public record Evaluation(String adapter, String snapshotId, long step, double candidateNll, double baseNll,
                             Integer comparedVersion, boolean passed, String reason) {
    }

    /** One release by the publisher. */
    public record Release(String adapter, int version, String snapshotId, long releasedAtMillis, double candidateNll, double baseNll) {
    }

    /** An adapter's live training figures. */
    public static final class AdapterView {
        public long step;
        public double loss = Double.NaN;
        public double tokensPerSecond;
        public int snapshots;
        public final List<LossPoint> losses = new ArrayList<>();

        AdapterView copy() {
            AdapterView c = new AdapterView();
            c.step = step;
            c.loss = loss;
            c.tokensPerSecond = tokensPerSecond;
            c.snapshots = snapshots;
            c.losses.addAll(losses);
            return c;
        }
    }

    /** A consistent copy for one redraw or the report. */
    public record View(long produced, Map<String, Long> ingest, long trainerDeadLetters, Map<String, AdapterView> adapters,
                       List<Evaluation> evaluations, List<Release> releases, Map<String, Integer> subscribed, String activity,
                       String lastEvent) {
        public long ingestCounter(String name) {
            return ingest.getOrDefault(name, 0L);
        }

        /** Sum of the ingest counters whose name starts with {@code prefix}. */
        public long ingestSum(String prefix) {
            return ingest.entrySet().stream().filter(e -> e.getKey().startsWith(prefix)).mapToLong(Map.Entry::getValue).sum();
        }

        /** The counters under {@code prefix}, prefix removed ("filtered." → reason → count). */
        public Map<String, Long> ingestGroup(String prefix) {
            Map<String, Long> m = new TreeMap<>();
            ingest.forEach((k, v) -> {
                if (k.startsWith(prefix)) {
                    m.merge(k.substring(prefix.length()), v, Long::sum);
                }
            });
            return m;
        }

        /** Inputs ingest has accounted for: gave examples, filtered as a whole, or dead-lettered. */
        public long accounted() {
            return ingestCounter("inputs_with_examples") + ingestSum("filtered.") + ingestSum("dead_letters.");
        }

        public Integer releasedVersion(String adapter) {
            Integer v = null;
            for (Release r : releases) {
                if (r.adapter().equals(adapter) && (v == null || r.version() > v)) {
                    v = r.version();
                }
            }
            return v;
        }
    }

    private final List<String> adapterNames;
    private long produced;
    private Map<String, Long> ingest = Map.of();
    private long trainerDeadLetters;
    private final Map<String, AdapterView> adapters = new LinkedHashMap<>();
    private final List<Evaluation> evaluations = new ArrayList<>();
    private final List<Release> releases = new ArrayList<>();
    private final Map<String, Integer> subscribed = new TreeMap<>();
    private String activity = "";
    private String lastEvent = "";

    public DemoState(List<String> adapterNames) {
        this.adapterNames = List.copyOf(adapterNames);
        for (String a : adapterNames) {
            adapters.put(a, new AdapterView());
        }
    }

    public List<String> adapterNames() {
        return adapterNames;
    }

    public synchronized void produced(long n) {
        produced = n;
    }

    public synchronized void ingest(Map<String, Long> counters) {
        ingest = Map.copyOf(counters);
    }

    public synchronized void trainerDeadLetters(long n) {
        trainerDeadLetters = n;
    }

    public synchronized void step(String adapter, long step, double loss, double tokensPerSecond) {
        AdapterView v = adapters.computeIfAbsent(adapter, a -> new AdapterView());
        v.step = step;
        v.loss = loss;
        v.tokensPerSecond = tokensPerSecond;
        v.losses.add(new LossPoint(step, loss));
    }

    public synchronized void snapshot(String adapter, String snapshotId, long step) {
        adapters.computeIfAbsent(adapter, a -> new AdapterView()).snapshots++;
        lastEvent = "snapshot " + adapter + " step " + step + " (" + snapshotId + ")";
    }

    public synchronized void evaluation(Evaluation e) {
        evaluations.add(e);
        activity = "";
        lastEvent = "evaluated " + e.adapter() + " step " + e.step() + ": " + (e.passed() ? "PASSED" : "FAILED") + " - " + e.reason();
    }

    public synchronized void release(Release r) {
        releases.add(r);
        lastEvent = "released " + r.adapter() + " v" + r.version() + " from snapshot " + r.snapshotId();
    }

    public synchronized void notReleased(String line) {
        lastEvent = line;
    }

    public synchronized void subscribed(String adapter, int version) {
        subscribed.put(adapter, version);
    }

    public synchronized void activity(String what) {
        activity = what;
    }

    /** True once every adapter of the demo has at least one release. */
    public synchronized boolean allReleased() {
        for (String a : adapterNames) {
            if (releases.stream().noneMatch(r -> r.adapter().equals(a))) {
                return false;
            }
        }
        return true;
    }

    /** True once every adapter has a release and the subscriber has installed one of each: the loop is closed. */
    public synchronized boolean allReleasedAndSubscribed() {
        return allReleased() && adapterNames.stream().allMatch(subscribed::containsKey);
    }

    public synchronized View view() {
        Map<String, AdapterView> a = new LinkedHashMap<>();
        adapters.forEach((k, v) -> a.put(k, v.copy()));
        return new View(produced, ingest, trainerDeadLetters, a, List.copyOf(evaluations), List.copyOf(releases),
                Map.copyOf(subscribed), activity, lastEvent);
    }
}
