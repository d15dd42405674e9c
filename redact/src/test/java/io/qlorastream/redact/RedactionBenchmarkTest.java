package io.qlorastream.redact;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The benchmark's corpus is deterministic and realistic: its planted values are all found. Not a timing test. */
class RedactionBenchmarkTest {

    @Test
    void theSameSeedGivesTheSameCorpusAndAnotherSeedAnother() {
        assertThat(RedactionBenchmark.corpus(7, 50)).isEqualTo(RedactionBenchmark.corpus(7, 50))
                .isNotEqualTo(RedactionBenchmark.corpus(8, 50));
    }

    @Test
    void noPlantedValueSurvivesAndTheLookAlikesDo() {
        Redactor redactor = new Redactor();
        List<KnownValue> known = List.of(KnownValue.name("Maria Gonzalez"), KnownValue.accountId("ACC-77120"));
        for (String text : RedactionBenchmark.corpus(42, 300)) {
            String redacted = redactor.redact(text, known).text();
            assertThat(redacted).doesNotContain("maria.g@example.org", "7946 0958", "4111 1111", "DE89", "203.0.113.42",
                    "2001:db8", "078-05-1120", "Pa55w0rd", "AKIA", "ghp_", "eyJ", "hunter2", "Maria", "ACC-77120", "123-4567");
            if (text.contains("550e8400-e29b-41d4-a716-446655440000")) {
                assertThat(redacted).contains("550e8400-e29b-41d4-a716-446655440000");
            }
            if (text.contains("Order #4242424242424241")) {
                assertThat(redacted).contains("Order #4242424242424241");
            }
        }
    }

    @Test
    void aRunReportsWhatItRedacted() {
        RedactionBenchmark.Result r = RedactionBenchmark.run(1_000_000, 42);
        assertThat(r.bytes()).isGreaterThan(0);
        assertThat(r.redactions()).isGreaterThan(r.texts());
        assertThat(r.mbPerSecond()).isPositive();
        assertThat(r.toString()).startsWith("redaction: ").contains("MB/s on one thread");
    }
}
