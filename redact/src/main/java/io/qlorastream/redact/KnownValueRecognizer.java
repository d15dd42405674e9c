package io.qlorastream.redact;

import java.util.Collection;
import java.util.Locale;
import java.util.regex.Pattern;

import static io.qlorastream.redact.Chars.isWordish;

/**
 * The values a caller already knows are personal ({@link KnownValue}: a customer's name, email, account id), found
 * wherever they recur in the text: case-insensitive, whole words only, and for a name each capitalized part too.
 */
final class KnownValueRecognizer {
    private static final Pattern WHITESPACE = Pattern.compile("\\s+");

    private KnownValueRecognizer() {
    }

    /** Adds a match for every whole-word recurrence of each known value in the scan's text. */
    static void find(Scan t, Collection<KnownValue> known) {
        String text = t.s;
        if (known.isEmpty()) {
            return;
        }
        String lower = text.toLowerCase(Locale.ROOT);
        // Lower-casing keeps indices only when no character changes length (it does for a few, e.g. U+0130).
        boolean sameIndices = lower.length() == text.length();
        for (KnownValue kv : known) {
            String value = kv.value().strip();
            if (value.length() < 2) {
                continue;
            }
            String key = normalize(kv.type(), value);
            String needle = value.toLowerCase(Locale.ROOT);
            if (sameIndices && needle.length() == value.length()) {
                findWholeWords(t, lower, needle, kv.type(), key);
            } else {
                findWholeWordsIgnoringCase(t, value, kv.type(), key);
            }
            if (kv.type() == RedactionType.NAME) {
                for (String part : WHITESPACE.split(value)) {
                    if (part.length() >= 3 && !part.equals(value) && Character.isLetter(part.charAt(0))) {
                        findWholeWords(t, text, part, kv.type(), key);
                    }
                }
            }
        }
    }

    private static void findWholeWords(Scan t, String haystack, String needle, RedactionType type, String key) {
        String text = t.s;
        int from = 0;
        int i;
        while ((i = haystack.indexOf(needle, from)) >= 0) {
            int end = i + needle.length();
            if (!isWordish(text, i - 1) && !isWordish(text, end)) {
                t.add(i, end, type, key);
            }
            from = i + 1;
        }
    }

    private static void findWholeWordsIgnoringCase(Scan t, String value, RedactionType type, String key) {
        String text = t.s;
        int len = value.length();
        for (int i = 0; i + len <= text.length(); i++) {
            if (text.regionMatches(true, i, value, 0, len) && !isWordish(text, i - 1) && !isWordish(text, i + len)) {
                t.add(i, i + len, type, key);
            }
        }
    }

    /** The identity of a value for numbering: two spellings of one value share a placeholder. */
    private static String normalize(RedactionType type, String value) {
        return switch (type) {
            case EMAIL, NAME, ACCOUNT_ID, IP_ADDRESS -> value.toLowerCase(Locale.ROOT);
            case PHONE, CARD, SSN, IBAN -> {
                StringBuilder b = new StringBuilder(value.length());
                for (int i = 0; i < value.length(); i++) {
                    char c = value.charAt(i);
                    if (Character.isLetterOrDigit(c) || c == '+') {
                        b.append(Character.toUpperCase(c));
                    }
                }
                yield b.toString();
            }
            default -> value;
        };
    }
}
