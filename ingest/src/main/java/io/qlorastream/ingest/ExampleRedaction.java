package io.qlorastream.ingest;

import io.qlorastream.redact.KnownValue;
import io.qlorastream.redact.RedactionResult;
import io.qlorastream.redact.RedactionType;
import io.qlorastream.redact.Redactor;

import java.util.Collection;
import java.util.EnumMap;
import java.util.Map;

/**
 * Redacts one example as a whole, so its placeholders are consistent across prompt and response (the customer's
 * email is {@code <EMAIL_1>} in both): the two texts are redacted as one, joined by a separator line that no
 * recognizer can match inside (ASCII record separator, no word characters). Should a match ever swallow the
 * separator (a PEM block left unterminated runs to the end of its text), the two are redacted separately instead:
 * still safe, only the numbering is then per text.
 */
public final class ExampleRedaction {
    private static final String SEPARATOR = "\n\u001E\u001E\u001E\n";

    /** The redacted example and its counts by type. */
    public record Redacted(String prompt, String response, Map<RedactionType, Integer> counts) {
    }

    private final Redactor redactor;

    public ExampleRedaction(Redactor redactor) {
        this.redactor = redactor;
    }

    public Redacted redact(String prompt, String response, Collection<KnownValue> known) {
        RedactionResult joint = redactor.redact(prompt + SEPARATOR + response, known);
        String text = joint.text();
        int at = text.indexOf(SEPARATOR);
        if (at >= 0 && text.indexOf(SEPARATOR, at + 1) < 0) {
            return new Redacted(text.substring(0, at), text.substring(at + SEPARATOR.length()), joint.counts());
        }
        RedactionResult p = redactor.redact(prompt, known);
        RedactionResult r = redactor.redact(response, known);
        Map<RedactionType, Integer> counts = new EnumMap<>(RedactionType.class);
        counts.putAll(p.counts());
        r.counts().forEach((k, v) -> counts.merge(k, v, Integer::sum));
        return new Redacted(p.text(), r.text(), counts);
    }
}
