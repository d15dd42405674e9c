package io.qlorastream.redact;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The two checks every recognizer family's tests make, on a redactor of every type. */
final class RedactorAssertions {
    private static final Redactor REDACTOR = new Redactor();

    private RedactorAssertions() {
    }

    /** The value between two words becomes its placeholder, and nothing else changes. */
    static void assertFindsAlone(String value, RedactionType type) {
        RedactionResult r = REDACTOR.redact("before " + value + " after.");
        assertThat(r.text()).isEqualTo("before " + type.placeholder(1) + " after.");
        assertThat(r.counts()).containsExactly(Map.entry(type, 1));
    }

    /** A look-alike or near miss is left exactly as it is. */
    static void assertSurvives(String text) {
        RedactionResult r = REDACTOR.redact(text);
        assertThat(r.text()).isEqualTo(text);
        assertThat(r.counts()).isEmpty();
    }
}
