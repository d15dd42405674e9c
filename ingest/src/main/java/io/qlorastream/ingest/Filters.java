package io.qlorastream.ingest;

import java.util.Locale;
import java.util.Optional;

/**
 * The filter rules shared by every source. The event-level rules, each switchable in {@link IngestConfig}, are each
 * source's own ({@link SourceEvent#filterReason}: applied in a fixed order, the first that matches is the reason
 * counted); length rules apply per example: {@link #responseLength}. Pure functions.
 */
public final class Filters {
    private Filters() {
    }

    /** TOO_SHORT / TOO_LONG for one example's response (trimmed), else empty. */
    public static Optional<FilterReason> responseLength(String response, IngestConfig c) {
        int n = response.strip().length();
        if (n < c.minResponseChars) {
            return Optional.of(FilterReason.TOO_SHORT);
        }
        if (n > c.maxResponseChars) {
            return Optional.of(FilterReason.TOO_LONG);
        }
        return Optional.empty();
    }

    /** "fr-CA" → "fr", "EN_us" → "en". */
    static String primaryLanguage(String tag) {
        String s = tag.trim().toLowerCase(Locale.ROOT);
        int cut = 0;
        while (cut < s.length() && Character.isLetter(s.charAt(cut))) {
            cut++;
        }
        return s.substring(0, cut);
    }
}
