package io.qlorastream.redact;

import org.junit.jupiter.api.Test;

import java.util.EnumSet;
import java.util.List;

import static io.qlorastream.redact.RedactionType.*;
import static org.assertj.core.api.Assertions.assertThat;

/** {@link Redactor#findings}: the type and offsets of exactly what {@link Redactor#redact} replaces. */
class RedactorFindingsTest {
    private final Redactor redactor = new Redactor();

    @Test
    void findingsAreWhatRedactReplacesWithTheirOffsets() {
        String text = "clone https://bob:pw@git.example.com/x.git, mail jane@example.com " + SecretRecognizersTest.GITHUB_PAT;
        List<Redactor.Finding> findings = redactor.findings(text);
        assertThat(findings).extracting(Redactor.Finding::type).containsExactly(URL_CREDENTIALS, EMAIL, GITHUB_TOKEN);
        assertThat(findings).extracting(f -> text.substring(f.start(), f.end()))
                .containsExactly("https://bob:pw@git.example.com/x.git", "jane@example.com", SecretRecognizersTest.GITHUB_PAT);
        // the same resolution as redact: replacing the findings right to left gives redact's text
        StringBuilder replaced = new StringBuilder(text);
        for (int i = findings.size() - 1; i >= 0; i--) {
            Redactor.Finding f = findings.get(i);
            replaced.replace(f.start(), f.end(), f.type().placeholder(1));
        }
        assertThat(replaced.toString()).isEqualTo(redactor.redact(text).text());
        assertThat(redactor.findings("nothing to see here")).isEmpty();
    }

    @Test
    void findingsFollowTheEnabledTypes() {
        String text = "mail jane@example.com from 203.0.113.7";
        assertThat(new Redactor(EnumSet.of(IP_ADDRESS)).findings(text)).containsExactly(new Redactor.Finding(IP_ADDRESS, 27, 38));
    }
}
