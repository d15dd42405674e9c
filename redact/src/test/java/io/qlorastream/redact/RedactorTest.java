package io.qlorastream.redact;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;

import static io.qlorastream.redact.RedactionType.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** What the redactor does over all its recognizer families: numbering, precedence, policies, linear cost. */
class RedactorTest {
    private final Redactor redactor = new Redactor();

    @Test
    void theSameValueKeepsItsNumberAndANewValueGetsTheNext() {
        RedactionResult r = redactor.redact(
                "From jane@example.com to bob@example.com, cc JANE@example.com; call +44 20 7946 0958 or +44 20 7946 0958.");
        assertThat(r.text()).isEqualTo("From <EMAIL_1> to <EMAIL_2>, cc <EMAIL_1>; call <PHONE_1> or <PHONE_1>.");
        assertThat(r.counts()).containsExactly(Map.entry(EMAIL, 3), Map.entry(PHONE, 2));
        assertThat(r.total()).isEqualTo(5);
    }

    @Test
    void numbersRestartForEachCall() {
        assertThat(redactor.redact("a@example.com").text()).isEqualTo("<EMAIL_1>");
        assertThat(redactor.redact("b@example.com").text()).isEqualTo("<EMAIL_1>");
    }

    @Test
    void aPolicyCanKeepTypes() {
        Redactor noIps = new Redactor(EnumSet.complementOf(EnumSet.of(IP_ADDRESS)));
        assertThat(noIps.redact("host 10.0.0.1 mail a@example.com").text()).isEqualTo("host 10.0.0.1 mail <EMAIL_1>");
    }

    @Test
    void aMixedTicketIsCleanedAndTheLookAlikesStay() {
        String ticket = """
                Hi team, I'm Jane (jane.doe@acme.io, +1 (555) 010-9999 isn't mine, mine is +1-555-867-5309).
                After upgrading to v2.14.1 on 2024-03-05 at 10:30:45 the app on localhost:8080 crashed, request id
                550e8400-e29b-41d4-a716-446655440000, commit 9fceb02. My card 4242 4242 4242 4242 was charged twice
                for order 4242 4242 4242 4241. Refund to IBAN GB82 WEST 1234 5698 7654 32 please.
                Config: DATABASE_URL=postgres://svc:Pa55w0rd@10.1.2.3:5432/app and STRIPE=sk_live_4eC39HqLyjWDarjtT1zdp7dc
                Log: client 203.0.113.7 token=ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5 ssn 078-05-1120.
                """;
        RedactionResult r = redactor.redact(ticket);
        assertThat(r.text()).isEqualTo("""
                Hi team, I'm Jane (<EMAIL_1>, <PHONE_1> isn't mine, mine is <PHONE_2>).
                After upgrading to v2.14.1 on 2024-03-05 at 10:30:45 the app on localhost:8080 crashed, request id
                550e8400-e29b-41d4-a716-446655440000, commit 9fceb02. My card <CARD_1> was charged twice
                for order 4242 4242 4242 4241. Refund to IBAN <IBAN_1> please.
                Config: DATABASE_URL=<URL_CREDENTIALS_1> and STRIPE=<STRIPE_KEY_1>
                Log: client <IP_ADDRESS_1> token=<GITHUB_TOKEN_1> ssn <SSN_1>.
                """);
        assertThat(r.counts()).containsExactly(Map.entry(URL_CREDENTIALS, 1), Map.entry(GITHUB_TOKEN, 1),
                Map.entry(STRIPE_KEY, 1), Map.entry(EMAIL, 1), Map.entry(IBAN, 1), Map.entry(CARD, 1),
                Map.entry(SSN, 1), Map.entry(PHONE, 2), Map.entry(IP_ADDRESS, 1));
    }

    @Test
    void ordinaryCodeIsLeftAlone() {
        String code = """
                public Map<String, Integer> count(List<String> tokens) {
                    var password = config.get("db.password");
                    if (token == null || tokens.size() > 512) return Map.of();
                    String url = "http://localhost:8080/api/v1/items?id=" + id;
                    int[] sizes = {1, 2, 3};
                    double ratio = 0.75e-3 * 1024;
                    log.info("took {} ms at {}", 1234, Instant.parse("2024-01-15T10:30:45Z"));
                    return IntStream.range(0, 16).boxed().collect(toMap(i -> "k" + i, i -> i));
                }
                """;
        RedactionResult r = redactor.redact(code);
        assertThat(r.text()).isEqualTo(code);
    }

    @Test
    void pathologicalInputsAreRedactedConsistentlyWithoutBacktracking() {
        // 10 MB bodies of the shapes that make naive patterns backtrack: no spaces, repeated triggers. Catastrophic
        // backtracking would not finish at all; the preemptive limit only turns such a hang into a failure (it is
        // no speed target: linear work takes about a second here).
        String[] shapes = {"a", "1", "a@", "@a.", "1.", "1-", "+1 ", "://", "=a", "eyJ", "AKIA", "-----BEGIN ", ":", "ab:"};
        for (String shape : shapes) {
            String big = shape.repeat(10_000_000 / shape.length());
            RedactionResult r = assertTimeoutPreemptively(Duration.ofSeconds(120), () -> redactor.redact(big),
                    "redacting 10 MB of '" + shape + "' did not finish");
            if (r.total() == 0) {
                assertThat(r.text()).as(shape).isEqualTo(big);
            } else {
                // whatever was found is replaced by its typed placeholder, and the text shrank by what was removed
                r.counts().forEach((type, n) -> assertThat(r.text()).as(shape).contains(type.placeholder(1)));
                assertThat(r.text().length()).as(shape).isNotEqualTo(big.length());
            }
        }
    }

    @Test
    void emptyAndPlainTextsComeBackUnchanged() {
        assertThat(redactor.redact("").text()).isEmpty();
        String plain = "Nothing to see here, just words and 42 numbers.";
        assertThat(redactor.redact(plain).text()).isSameAs(plain);
    }
}
