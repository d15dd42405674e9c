package io.qlorastream.publisher;

import io.qlorastream.events.AdapterRelease;
import io.qlorastream.events.ReleaseKind;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * What the publisher knows, as a fold of {@code adapter-release-log} in order: per adapter the current release, every
 * RELEASE by version (what a rollback re-publishes), the highest version ever given (the next is one more, also after a
 * rollback), and the evaluation and snapshot ids already released (a replayed or duplicated evaluation is recognised
 * by them). Nothing else is kept, so a restarted publisher rebuilt from the log decides exactly as before.
 */
public final class ReleaseState {
    private final Map<String, AdapterState> adapters = new TreeMap<>();

    /** One adapter's releases. */
    public static final class AdapterState {
        private final String name;
        private AdapterRelease current;
        private final TreeMap<Integer, AdapterRelease> releases = new TreeMap<>();
        private final List<AdapterRelease> history = new ArrayList<>();
        private final Map<String, Integer> versionByEvaluation = new HashMap<>();
        private final Map<String, Integer> versionBySnapshot = new HashMap<>();

        AdapterState(String name) {
            this.name = name;
        }

        public String name() {
            return name;
        }

        public Optional<AdapterRelease> current() {
            return Optional.ofNullable(current);
        }

        public int maxVersion() {
            return releases.isEmpty() ? 0 : releases.lastKey();
        }

        /** The RELEASE event of a version, if there was one. */
        public Optional<AdapterRelease> release(int version) {
            return Optional.ofNullable(releases.get(version));
        }

        /** Every event of this adapter in log order. */
        public List<AdapterRelease> history() {
            return List.copyOf(history);
        }

        public Optional<Integer> versionOfEvaluation(String evaluationId) {
            return Optional.ofNullable(versionByEvaluation.get(evaluationId));
        }

        public Optional<Integer> versionOfSnapshot(String snapshotId) {
            return Optional.ofNullable(versionBySnapshot.get(snapshotId));
        }

        /** When the current release was published (a rollback counts: it changed what serves). */
        public Optional<Instant> lastReleasedAt() {
            return current().map(AdapterRelease::getReleasedAt);
        }

        /** The version a rollback goes back to by default: the newest RELEASE older than the current version. */
        public Optional<Integer> previousVersion() {
            if (current == null) {
                return Optional.empty();
            }
            Integer lower = releases.lowerKey(current.getVersion());
            return Optional.ofNullable(lower);
        }

        void apply(AdapterRelease r) {
            history.add(r);
            current = r;
            if (r.getKind() == ReleaseKind.RELEASE) {
                releases.put(r.getVersion(), r);
                versionByEvaluation.put(r.getEvaluationId(), r.getVersion());
                versionBySnapshot.put(r.getSnapshotId(), r.getVersion());
            }
        }
    }

    /** Applies one event of the log (in log order). */
    public void apply(AdapterRelease r) {
        adapters.computeIfAbsent(r.getAdapterName(), AdapterState::new).apply(r);
    }

    public Optional<AdapterState> adapter(String name) {
        return Optional.ofNullable(adapters.get(name));
    }

    public Collection<AdapterState> adapters() {
        return adapters.values();
    }

    public Set<String> names() {
        return new HashSet<>(adapters.keySet());
    }
}
