package io.qlorastream.redact;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.qlorastream.redact.RedactionType.*;
import static org.assertj.core.api.Assertions.assertThat;

class KnownValueRecognizerTest {
    private final Redactor redactor = new Redactor();

    @Test
    void knownValuesAreRedactedWhereverTheyRecurCaseInsensitiveWholeWord() {
        List<KnownValue> known = List.of(KnownValue.name("Jane Doe"), KnownValue.accountId("ACC-004217"),
                KnownValue.email("jane@example.com"));
        RedactionResult r = redactor.redact(
                "Hi, I'm jane doe (account acc-004217). Jane here again; Janet and ACC-0042170 are other people. "
                        + "Write to JANE@EXAMPLE.COM or jane@example.com.", known);
        assertThat(r.text()).isEqualTo("Hi, I'm <NAME_1> (account <ACCOUNT_ID_1>). <NAME_1> here again; Janet and ACC-0042170 "
                + "are other people. Write to <EMAIL_1> or <EMAIL_1>.");
        assertThat(r.counts()).containsExactly(Map.entry(EMAIL, 2), Map.entry(ACCOUNT_ID, 1), Map.entry(NAME, 2));
    }

    @Test
    void knownValuesWorkWithUnicode() {
        RedactionResult r = redactor.redact("Merci, ÉLODIE MÜLLER! Élodie Müller a écrit; Élodies non.",
                List.of(KnownValue.name("Élodie Müller")));
        assertThat(r.text()).isEqualTo("Merci, <NAME_1>! <NAME_1> a écrit; Élodies non.");
    }
}
