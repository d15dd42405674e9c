package io.qlorastream.ingest;

import java.util.List;
import java.util.function.Function;

/**
 * Whether a decoded event is fit to process: required fields present and non-blank, each text within
 * {@link IngestConfig#maxFieldChars}, no more than {@link IngestConfig#maxMessages} messages, and valid UTF-8. The
 * Avro decoder turns invalid UTF-8 into U+FFFD replacement characters, so a text holding U+FFFD (or a lone UTF-16
 * surrogate) is taken as not valid UTF-8. Each source applies these to its own fields ({@link SourceEvent#problem});
 * pure functions, each returning the first problem found, naming the field, or null.
 */
public final class Validation {
    private Validation() {
    }

    /**
     * The checks of a list of turns (a ticket's messages, a review's comments) named {@code field}: at least one
     * ({@code needs} says why), at most {@link IngestConfig#maxMessages}, each present with a valid body.
     */
    static <T> String turns(String field, String needs, List<T> turns, Function<T, String> body, IngestConfig c) {
        if (turns == null || turns.isEmpty()) {
            return field + ": empty, " + needs;
        }
        if (turns.size() > c.maxMessages) {
            return field + ": " + turns.size() + " " + field + ", over the limit of " + c.maxMessages;
        }
        for (int i = 0; i < turns.size(); i++) {
            T m = turns.get(i);
            String q = m == null ? field + "[" + i + "]: missing" : text(field + "[" + i + "].body", body.apply(m), c, false);
            if (q != null) {
                return q;
            }
        }
        return null;
    }

    static String required(String field, String value, IngestConfig c) {
        return text(field, value, c, false);
    }

    static String optional(String field, String value, IngestConfig c) {
        return value == null ? null : text(field, value, c, true);
    }

    private static String text(String field, String value, IngestConfig c, boolean blankAllowed) {
        if (value == null) {
            return field + ": missing";
        }
        if (value.length() > c.maxFieldChars) {
            return field + ": " + value.length() + " chars, over the limit of " + c.maxFieldChars;
        }
        if (!blankAllowed && value.isBlank()) {
            return field + ": blank";
        }
        int bad = invalidUtf8At(value);
        if (bad >= 0) {
            return field + ": not valid UTF-8 (replacement character or lone surrogate at char " + bad + ")";
        }
        return null;
    }

    /** Index of the first U+FFFD or unpaired surrogate, or -1. */
    static int invalidUtf8At(String s) {
        // indexOf runs vectorized in the JDK, and at once on a Latin-1 string; the loop below then only tests each
        // char for a surrogate, one mask and compare (this check had been a tenth of the ingest stream thread)
        int replacement = s.indexOf('\uFFFD');
        int end = replacement < 0 ? s.length() : replacement;
        for (int i = 0; i < end; i++) {
            char ch = s.charAt(i);
            if ((ch & 0xF800) == 0xD800) {
                if (Character.isHighSurrogate(ch) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i++;
                } else {
                    return i;
                }
            }
        }
        return replacement;
    }

    static String firstOf(String... problems) {
        for (String p : problems) {
            if (p != null) {
                return p;
            }
        }
        return null;
    }
}
