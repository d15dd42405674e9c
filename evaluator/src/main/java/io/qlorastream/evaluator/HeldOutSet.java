package io.qlorastream.evaluator;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One adapter's held-out set: at most {@code capacity} examples, chosen as the ones whose SHA-256(example_id) is
 * smallest (bottom-k sampling). The choice depends only on which examples exist, not on the order they arrived in
 * or on how often one was re-sent, so re-reading {@code eval-examples} after a restart rebuilds the same set, and
 * every evaluator instance that has read the same examples holds the same set. A re-sent example id replaces the
 * earlier version (ingest replays). Not thread-safe.
 */
public final class HeldOutSet {
    private final int capacity;
    /** By SHA-256 hex of the example id: hex order is the order of the hash values. */
    private final TreeMap<String, HeldOutExample> kept = new TreeMap<>();

    public HeldOutSet(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("held-out set size must be at least 1, got " + capacity);
        }
        this.capacity = capacity;
    }

    /** Adds the example when it ranks among the {@code capacity} smallest hashes; returns whether the set changed. */
    public boolean offer(HeldOutExample e) {
        String key = Sha256.of(e.exampleId().getBytes(StandardCharsets.UTF_8));
        HeldOutExample previous = kept.get(key);
        if (previous != null) {
            if (previous.equals(e)) {
                return false;
            }
            kept.put(key, e);
            return true;
        }
        if (kept.size() >= capacity && key.compareTo(kept.lastKey()) > 0) {
            return false;
        }
        kept.put(key, e);
        if (kept.size() > capacity) {
            kept.pollLastEntry();
        }
        return true;
    }

    public int size() {
        return kept.size();
    }

    /** An immutable copy: what one evaluation scores every model on. */
    public Frozen freeze() {
        return Frozen.of(new ArrayList<>(kept.values()));
    }

    /**
     * A fixed held-out set and the SHA-256 of its contents: per example, in order, the length-prefixed UTF-8 bytes of
     * id, prompt and response.
     */
    public record Frozen(List<HeldOutExample> examples, String sha256) {
        public Frozen {
            examples = List.copyOf(examples);
        }

        public static Frozen of(List<HeldOutExample> examples) {
            MessageDigest md = Sha256.digest();
            for (HeldOutExample e : examples) {
                for (String s : new String[]{e.exampleId(), e.prompt(), e.response()}) {
                    byte[] b = s.getBytes(StandardCharsets.UTF_8);
                    md.update(ByteBuffer.allocate(4).putInt(b.length).array());
                    md.update(b);
                }
            }
            return new Frozen(examples, Sha256.hex(md.digest()));
        }

        public int size() {
            return examples.size();
        }
    }

    /** Held-out sets by adapter name, each bounded to the same capacity. */
    public static final class PerAdapter {
        private final int capacity;
        private final Map<String, HeldOutSet> sets = new TreeMap<>();

        public PerAdapter(int capacity) {
            new HeldOutSet(capacity); // validates
            this.capacity = capacity;
        }

        public boolean offer(String adapter, HeldOutExample e) {
            return sets.computeIfAbsent(adapter, a -> new HeldOutSet(capacity)).offer(e);
        }

        public Frozen freeze(String adapter) {
            HeldOutSet s = sets.get(adapter);
            return s == null ? Frozen.of(List.of()) : s.freeze();
        }
    }
}
