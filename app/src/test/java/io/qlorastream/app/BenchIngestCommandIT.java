package io.qlorastream.app;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** `bench ingest` from the real fat jar: it runs every side and prints the rates and ratios (no speed asserted). */
class BenchIngestCommandIT {

    @Test
    void printsThreeRatesBothRatiosAndTheRedactionRateWithSettingsFromTheConfigFile(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("bench.properties");
        Files.writeString(config, "num.stream.threads=1\nqlora.stream.ingest.split.eval.fraction=0.1\n");
        try (JarProcess bench = JarProcess.start("bench", "ingest", "--events", "300", "--redact-mb", "1", "--max-warmup-rounds", "2",
                "--rounds", "2", "--config", config.toString())) {
            assertThat(bench.awaitExit(Duration.ofSeconds(300))).as(bench.stderr()).isZero();
            assertThat(bench.stdout()).contains("300 events, after ", "warm-up round(s)", "medians of 2 timed round(s): plain copy ",
                    "exactly-once copy ", "ingest topology ", "ratio to the plain copy ", "goal >= 0.50), to the exactly-once copy ",
                    "redaction: ", "(goal >= 50 MB/s)");
            // a warm-up round's progress on stderr, no more rounds than the limit, and each timed round
            assertThat(bench.stderr()).contains("warm-up round 1: ", "timed round 1 of 2: ", "timed round 2 of 2: ")
                    .doesNotContain("warm-up round 3: ", "timed round 3");
        }
    }

    @Test
    void aBadIngestSettingIsAUsageErrorNamingTheFileAndKey(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("bad.properties");
        Files.writeString(config, "qlora.stream.ingest.output.partitions=abc\n");
        try (JarProcess bench = JarProcess.start("bench", "ingest", "--config", config.toString())) {
            assertThat(bench.awaitExit(Duration.ofSeconds(60))).isEqualTo(2);
            assertThat(bench.stderr()).contains(config + ": qlora.stream.ingest.output.partitions: not an integer: abc");
        }
    }
}
