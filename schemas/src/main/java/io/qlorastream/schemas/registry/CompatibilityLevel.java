package io.qlorastream.schemas.registry;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;

import java.util.ArrayList;
import java.util.List;

/**
 * Confluent's compatibility levels, checked with Avro's own {@link SchemaCompatibility}.
 * BACKWARD: the new schema reads data written with the old one; FORWARD: the old reads the new; FULL: both.
 * Transitive levels check every earlier version, the others only the latest.
 */
public enum CompatibilityLevel {
    NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE;

    public boolean transitive() {
        return name().endsWith("_TRANSITIVE");
    }

    /**
     * Why {@code candidate} breaks this level against {@code existing} (oldest first), or an empty list.
     * Non-transitive levels only look at the last element.
     */
    public List<String> violations(Schema candidate, List<Schema> existing) {
        List<String> problems = new ArrayList<>();
        if (this == NONE || existing.isEmpty()) {
            return problems;
        }
        List<Schema> against = transitive() ? existing : List.of(existing.get(existing.size() - 1));
        boolean backward = this == BACKWARD || this == BACKWARD_TRANSITIVE || this == FULL || this == FULL_TRANSITIVE;
        boolean forward = this == FORWARD || this == FORWARD_TRANSITIVE || this == FULL || this == FULL_TRANSITIVE;
        for (Schema old : against) {
            if (backward) {
                check(candidate, old, "the new schema cannot read data written with an earlier one", problems);
            }
            if (forward) {
                check(old, candidate, "an earlier schema cannot read data written with the new one", problems);
            }
        }
        return problems;
    }

    private static void check(Schema reader, Schema writer, String what, List<String> problems) {
        SchemaCompatibility.SchemaPairCompatibility result = SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
        if (result.getType() != SchemaCompatibilityType.COMPATIBLE) {
            StringBuilder sb = new StringBuilder(what);
            for (SchemaCompatibility.Incompatibility inc : result.getResult().getIncompatibilities()) {
                sb.append("; ").append(inc.getType()).append(" at ").append(inc.getLocation()).append(": ").append(inc.getMessage());
            }
            problems.add(sb.toString());
        }
    }

    /** Parses a level name; the exception names the bad value. */
    public static CompatibilityLevel parse(String value) {
        try {
            return valueOf(value == null ? "" : value.trim().toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new RegistryException.InvalidCompatibilityLevelException("Invalid compatibility level: " + value
                    + " (one of " + java.util.Arrays.toString(values()) + ")");
        }
    }
}
