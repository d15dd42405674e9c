package io.qlorastream.redact;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/**
 * The redacted text and how many spans of each type were replaced (occurrences, not distinct values).
 * {@code counts} holds only types with at least one replacement, in {@link RedactionType} order.
 */
public record RedactionResult(String text, Map<RedactionType, Integer> counts) {
    public RedactionResult {
        EnumMap<RedactionType, Integer> copy = new EnumMap<>(RedactionType.class);
        copy.putAll(counts);
        counts = Collections.unmodifiableMap(copy);
    }

    /** All replacements together. */
    public int total() {
        int t = 0;
        for (int c : counts.values()) {
            t += c;
        }
        return t;
    }

    public int count(RedactionType type) {
        return counts.getOrDefault(type, 0);
    }
}
