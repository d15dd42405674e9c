package io.qlorastream.ingest;

import io.qlorastream.redact.RedactionBenchmark;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** How `bench ingest` sums up its timed rounds: medians, and each round's ratio taken within the round. */
class IngestBenchmarkResultTest {
    private static final RedactionBenchmark.Result REDACTION = new RedactionBenchmark.Result(1_000_000, 10, 5, 0.01, 100);

    @Test
    void theRatioIsTheMedianOfEachRoundsOwnRatio() {
        // round 2's copy ran fast and its topology too: dividing the median rates (90/100) would hide that each round
        // measured 0.5, 0.4 and 0.6
        IngestBenchmark.Result r = new IngestBenchmark.Result(1000, 3, 0.05,
                new double[]{100, 250, 150}, new double[]{80, 200, 100}, new double[]{50, 100, 90}, REDACTION);
        assertThat(r.ratio()).isCloseTo(0.5, within(1e-12));
        assertThat(r.transactionalRatio()).isCloseTo(0.625, within(1e-12)); // 0.625, 0.5, 0.9
        assertThat(r.toString()).contains("medians of 3 timed round(s): plain copy 150 events/s, exactly-once copy 100 events/s, "
                + "ingest topology 90 events/s", "ratio to the plain copy 0.50 (rounds 0.40-0.60; goal >= 0.50), "
                + "to the exactly-once copy 0.63");
    }

    @Test
    void anEvenNumberOfRoundsTakesTheMeanOfTheMiddleTwo() {
        assertThat(IngestBenchmark.median(new double[]{4, 1, 3, 2})).isEqualTo(2.5);
        assertThat(IngestBenchmark.median(new double[]{7})).isEqualTo(7);
    }
}
