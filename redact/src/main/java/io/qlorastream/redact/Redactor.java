package io.qlorastream.redact;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Finds personal data and secrets in free text and replaces each with a typed, numbered placeholder
 * ({@code <EMAIL_1>}): the same value twice gets the same placeholder, a second distinct value the next number.
 * Plain Java, no Kafka; immutable and thread-safe.
 *
 * <p>Written by hand rather than as one regular expression per recognizer (no library on Maven Central does
 * typed, checksum-validated PII and secret detection at this speed): a single pass over the text looks at
 * cheap triggers only ({@code @} for emails, {@code ://} for URLs, {@code =} and {@code :} for assignments,
 * {@code +} and digits at a word start for numbers, known prefixes at a word start for tokens) and runs a
 * bounded, backtracking-free check there. Every check looks at most a fixed number of characters ahead
 * (a PEM block excepted: it runs to its END line, or to the end of the text when truncated), so the cost is
 * linear in the text whatever it holds. The pass is a {@link Scan}; the checks are its recognizer families
 * ({@link NetworkRecognizers}, {@link NumberRecognizers}, {@link SecretRecognizers}), and the values the caller
 * knows are found by {@link KnownValueRecognizer}.
 *
 * <p>Overlapping matches: the longer wins (a URL with credentials beats the email inside it, a PEM block beats
 * everything in it); on equal length the more specific type ({@link RedactionType} order), then the earlier.
 */
public final class Redactor {
    private final Set<RedactionType> enabled;

    /** A redactor for every {@link RedactionType}. */
    public Redactor() {
        this(EnumSet.allOf(RedactionType.class));
    }

    /** A redactor for the given types only (a policy that keeps, say, IP addresses). */
    public Redactor(Set<RedactionType> enabled) {
        this.enabled = enabled.isEmpty() ? EnumSet.noneOf(RedactionType.class) : EnumSet.copyOf(enabled);
    }

    public Set<RedactionType> enabledTypes() {
        return EnumSet.copyOf(enabled.isEmpty() ? EnumSet.noneOf(RedactionType.class) : enabled);
    }

    public RedactionResult redact(String text) {
        return redact(text, List.of());
    }

    /** Redacts {@code text}, also replacing every whole-word, case-insensitive recurrence of the known values. */
    public RedactionResult redact(String text, Collection<KnownValue> known) {
        List<Match> matches = new ArrayList<>();
        Scan scan = new Scan(text, enabled, matches);
        scan.run();
        KnownValueRecognizer.find(scan, known);
        if (matches.isEmpty()) {
            return new RedactionResult(text, Map.of());
        }
        return replace(text, resolve(matches));
    }

    /** A value {@link #redact(String)} replaces: its type and where it is, {@code [start, end)} in the text. */
    public record Finding(RedactionType type, int start, int end) {
    }

    /** What {@link #redact(String)} replaces in {@code text}, in text order (overlaps resolved as there). */
    public List<Finding> findings(String text) {
        List<Match> matches = new ArrayList<>();
        new Scan(text, enabled, matches).run();
        return resolve(matches).stream().map(m -> new Finding(m.type(), m.start(), m.end())).toList();
    }

    // ---------------------------------------------------------------- matches and their resolution

    private static final Comparator<Match> PRECEDENCE = Comparator.comparingInt(Match::length).reversed()
            .thenComparingInt(m -> m.type().specificity())
            .thenComparingInt(Match::start);

    /** The non-overlapping matches that win, in text order. */
    private static Collection<Match> resolve(List<Match> matches) {
        matches.sort(PRECEDENCE);
        TreeMap<Integer, Match> accepted = new TreeMap<>();
        for (Match m : matches) {
            Map.Entry<Integer, Match> before = accepted.floorEntry(m.start());
            if (before != null && before.getValue().end() > m.start()) {
                continue;
            }
            Map.Entry<Integer, Match> after = accepted.ceilingEntry(m.start());
            if (after != null && after.getKey() < m.end()) {
                continue;
            }
            accepted.put(m.start(), m);
        }
        return accepted.values();
    }

    private static RedactionResult replace(String text, Collection<Match> winners) {
        StringBuilder out = new StringBuilder(text.length());
        Map<RedactionType, Map<String, Integer>> numbers = new EnumMap<>(RedactionType.class);
        Map<RedactionType, Integer> counts = new EnumMap<>(RedactionType.class);
        int at = 0;
        for (Match m : winners) {
            out.append(text, at, m.start());
            Map<String, Integer> ofType = numbers.computeIfAbsent(m.type(), t -> new HashMap<>());
            int n = ofType.computeIfAbsent(m.key(), k -> ofType.size() + 1);
            out.append(m.type().placeholder(n));
            counts.merge(m.type(), 1, Integer::sum);
            at = m.end();
        }
        out.append(text, at, text.length());
        return new RedactionResult(out.toString(), counts);
    }
}
