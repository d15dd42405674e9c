package io.qlorastream.redact;

import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;

/** The recall goals on the labeled corpus kept in the repository, and that the file is what the generator makes. */
class LabeledCorpusTest {
    private static final List<LabeledCorpus.Sample> CORPUS = LabeledCorpus.generate(LabeledCorpus.SEED, LabeledCorpus.SIZE);

    @Test
    void theCorpusFileIsTheGeneratorsOutput() throws Exception {
        try (InputStream in = new GZIPInputStream(getClass().getResourceAsStream("/labeled-corpus.jsonl.gz"))) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8))
                    .as("regenerate with: java -cp redact/target/classes io.qlorastream.redact.LabeledCorpus redact/src/test/resources/labeled-corpus.jsonl.gz")
                    .isEqualTo(LabeledCorpus.toJsonLines(CORPUS));
        }
    }

    @Test
    void itPlantsAtLeastFiveThousandValuesOfEveryTypeAndAsManyLookAlikes() {
        LabeledCorpus.Report r = LabeledCorpus.measure(new Redactor(), CORPUS);
        assertThat(r.planted()).isGreaterThanOrEqualTo(5000);
        assertThat(r.lookAlikes()).isEqualTo(r.planted());
        // the known values' types (NAME, ACCOUNT_ID) come from the caller, not the text: KnownValueRecognizerTest
        assertThat(r.byType().keySet()).containsExactlyInAnyOrderElementsOf(java.util.EnumSet.complementOf(
                java.util.EnumSet.of(RedactionType.NAME, RedactionType.ACCOUNT_ID)));
    }

    @Test
    void recallIsAtLeast99Point5OverallAnd98ForEveryTypeAndLookAlikesSurvive() {
        LabeledCorpus.Report r = LabeledCorpus.measure(new Redactor(), CORPUS);
        assertThat(r.recall()).as(r.toString()).isGreaterThanOrEqualTo(0.995);
        for (RedactionType t : r.byType().keySet()) {
            assertThat(r.recall(t)).as(t + "\n" + r).isGreaterThanOrEqualTo(0.98);
        }
        assertThat(r.kept()).as(r.toString()).isGreaterThanOrEqualTo(0.98);
    }

    @Test
    void aRedactorWithoutTheNewTypesMissesThem() {
        Redactor old = new Redactor(java.util.EnumSet.complementOf(java.util.EnumSet.of(
                RedactionType.PASSWORD, RedactionType.PIN, RedactionType.SESSION_COOKIE)));
        LabeledCorpus.Report r = LabeledCorpus.measure(old, CORPUS);
        assertThat(r.recall(RedactionType.PASSWORD)).isZero();
        assertThat(r.recall()).isLessThan(0.6);
    }
}
