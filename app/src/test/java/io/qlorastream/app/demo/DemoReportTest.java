package io.qlorastream.app.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class DemoReportTest {
    @Test
    void theReportHoldsChartsTablesAccountingSamplesAndTheReleaseManifests(@TempDir Path dir) throws Exception {
        Path store = dir.resolve("store");
        Path v1 = Files.createDirectories(store.resolve("support/releases/v1"));
        Files.writeString(v1.resolve("release.json"), "{\"version\":1}");
        Files.writeString(v1.resolve("manifest.json"), "{\"files\":{}}");
        Path report = dir.resolve("report");
        DemoState.View v = DemoFixtures.state().view();
        DemoReport.write(report, v, DemoFixtures.ADAPTERS,
                List.of(new DemoReport.Sample("support", 1, "Product: Billing\nSubject: refund", "We refunded it.", "}}}}", "We refunded | it.")),
                store, 83.4, Map.of("rate", 40.0));

        assertThat(DemoReport.releaseMarkers(v, "support")).containsExactly(new LossChart.Marker(20, "v1"));
        assertThat(DemoReport.releaseMarkers(v, "code-review")).isEmpty();
        for (String a : DemoFixtures.ADAPTERS) {
            assertThat(ImageIO.read(report.resolve(DemoReport.lossChartName(a)).toFile())).as(a).isNotNull();
        }
        List<String> evaluations = Files.readAllLines(report.resolve(DemoReport.EVALUATIONS_CSV));
        assertThat(evaluations).containsExactly(
                "adapter,snapshot_id,step,candidate_nll,base_nll,margin,compared_with,verdict,reason",
                "support,lin-s00000020,20,5.1000,6.9900,1.8900,,PASSED,\"passed: held-out NLL 5.1 vs base 6.99 (margin 1.89), general-text rise -0.06, no leak in 4 probe completions\"",
                "code-review,cr-s00000010,10,7.2000,6.9900,-0.2100,,FAILED,\"failed beats_base: held-out NLL 7.2, base 6.99\"");
        assertThat(Files.readAllLines(report.resolve(DemoReport.RELEASES_CSV))).containsExactly(
                "adapter,version,snapshot_id,released_at,candidate_nll,base_nll",
                "support,v1,lin-s00000020,2026-01-01T00:00:00.123Z,5.1000,6.9900");
        assertThat(report.resolve("releases/support/v1/release.json")).hasContent("{\"version\":1}");
        assertThat(report.resolve("releases/support/v1/manifest.json")).exists();

        JsonNode summary = new ObjectMapper().readTree(report.resolve(DemoReport.SUMMARY_JSON).toFile());
        assertThat(summary.get("all_released").asBoolean()).isFalse();
        assertThat(summary.get("released").get("support").asInt()).isEqualTo(1);
        assertThat(summary.get("released").get("code-review").isNull()).isTrue();
        JsonNode acc = summary.get("accounting");
        assertThat(acc.get("events_produced").asLong()).isEqualTo(100);
        assertThat(acc.get("inputs_with_examples").asLong() + acc.get("filtered").asLong() + acc.get("dead_letters").asLong())
                .isEqualTo(acc.get("accounted").asLong()).isEqualTo(100);
        assertThat(summary.get("ingest_counters").get("redactions.EMAIL").asLong()).isEqualTo(7);

        String md = Files.readString(report.resolve(DemoReport.REPORT));
        assertThat(md).contains("**Not every adapter was released** in 1:23");
        assertThat(md).contains("| 100 | 30 | 65 | 5 | 100 |");
        assertThat(md).contains("![support](loss-support.png)").contains("![code-review](loss-code-review.png)");
        assertThat(md).containsPattern("\\| support \\| 20 \\| `lin-s00000020` \\| 5\\.1000 \\| 6\\.9900 \\| 1\\.8900 \\| base only \\| PASSED \\|");
        assertThat(md).containsPattern("\\| code-review \\| 10 \\| .* \\| FAILED \\| failed beats_base");
        assertThat(md).contains("| support | v1 | `lin-s00000020` | 2026-01-01T00:00:00.123Z | 5.1000 | 6.9900 |");
        assertThat(md).contains("[releases/support/v1/release.json](releases/support/v1/release.json)");
        assertThat(md).contains("| `}}}}` | `We refunded \\| it.` |"); // a pipe in a completion does not break the table
        assertThat(md).contains("```text\nProduct: Billing\nSubject: refund\n```");
    }

    @Test
    void aCompletionThatLeaksIsShownRedacted(@TempDir Path dir) throws Exception {
        Path report = dir.resolve("report");
        DemoReport.write(report, DemoFixtures.state().view(), DemoFixtures.ADAPTERS,
                List.of(new DemoReport.Sample("support", 1, "Subject: refund", "We refunded it.", "write to ops",
                        "write to alice.smith@example.com")), dir.resolve("store"), 1.0, Map.of());
        String md = Files.readString(report.resolve(DemoReport.REPORT));
        assertThat(md).contains("| `write to ops` | `write to <EMAIL_1>` |").doesNotContain("alice.smith");
    }
}
