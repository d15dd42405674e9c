package io.qlorastream.ingest;

import java.util.Map;

/**
 * How events become prompt/response drafts ({@link SourceEvent#drafts}) with the templates of {@link IngestConfig}.
 * Templates name fields in braces ({product}, {subject}, {conversation}; {role}, {body} for one turn; {repository},
 * {file_path}, {language}, {diff_hunk}); plain substitution in one pass, so a field's value holding "{subject}" stays
 * as is.
 * A ticket gives one draft per agent reply that follows a customer message (system messages are left out); its
 * id is {@code ticket/<ticket_id>/<message index>}. A review gives one draft, its comments joined by a blank
 * line; its id is {@code review/<review_id>}.
 */
public final class ExampleFormatter {
    private ExampleFormatter() {
    }

    /** One left-to-right pass: {name} with a known name is replaced, anything else is copied. */
    static String fill(String template, Map<String, String> values) {
        StringBuilder out = new StringBuilder(template.length() + 256);
        int i = 0;
        while (i < template.length()) {
            char ch = template.charAt(i);
            if (ch == '{') {
                int close = template.indexOf('}', i + 1);
                if (close > i) {
                    String v = values.get(template.substring(i + 1, close));
                    if (v != null) {
                        out.append(v);
                        i = close + 1;
                        continue;
                    }
                }
            }
            out.append(ch);
            i++;
        }
        return out.toString();
    }
}
