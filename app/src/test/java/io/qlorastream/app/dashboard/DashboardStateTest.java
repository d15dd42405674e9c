package io.qlorastream.app.dashboard;

import com.fasterxml.jackson.databind.JsonNode;
import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.events.ReleaseKind;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.qlorastream.app.dashboard.Events.check;
import static io.qlorastream.app.dashboard.Events.evaluation;
import static io.qlorastream.app.dashboard.Events.range;
import static io.qlorastream.app.dashboard.Events.release;
import static io.qlorastream.app.dashboard.Events.snapshot;
import static org.assertj.core.api.Assertions.assertThat;

class DashboardStateTest {
    static final String HOSTILE = "<img src=x onerror=alert(1)>";

    private static JsonNode json(DashboardState s) {
        return DashboardState.parse(s.toJson());
    }

    private static JsonNode adapter(JsonNode root, String name) {
        for (JsonNode a : root.get("adapters")) {
            if (a.get("name").asText().equals(name)) {
                return a;
            }
        }
        throw new AssertionError("no adapter " + name + " in " + root);
    }

    @Test
    void aReleaseIsJoinedToItsEvaluationAndSnapshotWhateverOrderTheyArriveIn() {
        DashboardState state = new DashboardState(100, 10);
        AdapterSnapshot s = snapshot("support", "s-40", "L1", 40, 1.8, range("training-examples", 0, 0, 320), range("training-examples", 2, 10, 90));
        AdapterEvaluation e = evaluation(s, "e-40", null, "all checks passed", check("beats_base", 0.4, 0.01, true));
        // the release log first: the reader takes the four topics in no order between them
        state.releaseLogged("log", release(e, 1, ReleaseKind.RELEASE, null, Events.T0.plusSeconds(100)));
        state.currentRelease("rel", "support", release(e, 1, ReleaseKind.RELEASE, null, Events.T0.plusSeconds(100)));
        JsonNode before = adapter(json(state), "support").get("releases").get(0).get("lineage");
        assertThat(before.get("snapshot").isNull()).isTrue();
        assertThat(before.get("evaluation").isNull()).isTrue();

        state.snapshot("snaps", s);
        state.evaluation("evals", e);
        JsonNode a = adapter(json(state), "support");
        JsonNode lineage = a.get("releases").get(0).get("lineage");
        assertThat(lineage.get("snapshot").get("snapshotId").asText()).isEqualTo("s-40");
        assertThat(lineage.get("snapshot").get("lineageId").asText()).isEqualTo("L1");
        assertThat(lineage.get("snapshot").get("step").asLong()).isEqualTo(40);
        assertThat(lineage.get("snapshot").get("offsetRanges")).hasSize(2);
        assertThat(lineage.get("snapshot").get("offsetRanges").get(1).get("partition").asInt()).isEqualTo(2);
        assertThat(lineage.get("snapshot").get("offsetRanges").get(1).get("fromOffset").asLong()).isEqualTo(10);
        assertThat(lineage.get("snapshot").get("offsetRanges").get(1).get("toOffset").asLong()).isEqualTo(90);
        assertThat(lineage.get("evaluation").get("passed").asBoolean()).isTrue();
        assertThat(a.get("current").get("version").asInt()).isEqualTo(1);
        JsonNode c = a.get("evaluations").get(0).get("checks").get(0);
        assertThat(c.get("name").asText()).isEqualTo("beats_base");
        assertThat(c.get("value").asDouble()).isEqualTo(0.4);
        assertThat(c.get("threshold").asDouble()).isEqualTo(0.01);
    }

    @Test
    void listsAreBoundedPerAdapterAndAReleasedSnapshotOutlivesTheCap() {
        DashboardState state = new DashboardState(5, 10);
        AdapterSnapshot first = snapshot("support", "s-0", "L1", 0, 3.0);
        state.snapshot("snaps", first);
        AdapterEvaluation e0 = evaluation(first, "e-0", null, "ok", check("beats_base", 0.1, 0.01, true));
        state.releaseLogged("log", release(e0, 1, ReleaseKind.RELEASE, null, Events.T0));
        for (int i = 1; i <= 20; i++) {
            AdapterSnapshot s = snapshot("support", "s-" + i, "L1", i * 10, 3.0 - i * 0.1);
            state.snapshot("snaps", s);
            state.evaluation("evals", evaluation(s, "e-" + i, 1, "ok", check("beats_base", 0.1, 0.01, true)));
        }
        for (int v = 2; v <= 9; v++) {
            state.releaseLogged("log", release(e0, v, v % 2 == 0 ? ReleaseKind.ROLLBACK : ReleaseKind.RELEASE, v - 1, Events.T0.plusSeconds(v)));
        }
        JsonNode a = adapter(json(state), "support");
        List<String> ids = new ArrayList<>();
        a.get("snapshots").forEach(s -> ids.add(s.get("snapshotId").asText()));
        assertThat(ids).containsExactly("s-16", "s-17", "s-18", "s-19", "s-20");
        assertThat(a.get("evaluations")).hasSize(5);
        assertThat(a.get("evaluations").get(0).get("evaluationId").asText()).isEqualTo("e-16");
        assertThat(a.get("releases")).hasSize(5);
        assertThat(a.get("releases").get(0).get("version").asInt()).isEqualTo(5);
        // every release shown points at s-0, long evicted from the list: its lineage is still known
        a.get("releases").forEach(r -> assertThat(r.get("lineage").get("snapshot").get("snapshotId").asText()).isEqualTo("s-0"));
        // a re-read snapshot (a reader restart) replaces, never duplicates
        state.snapshot("snaps", snapshot("support", "s-20", "L1", 200, 1.0));
        assertThat(adapter(json(state), "support").get("snapshots")).hasSize(5);
    }

    @Test
    void newAdaptersPastTheCapAreCountedNotKept() {
        DashboardState state = new DashboardState(5, 3);
        for (int i = 0; i < 10; i++) {
            state.snapshot("snaps", snapshot("adapter-" + i, "s", "L", 1, 1.0));
        }
        JsonNode root = json(state);
        assertThat(root.get("adapters")).hasSize(3);
        assertThat(root.get("limits").get("droppedForAdapterCap").asLong()).isEqualTo(7);
    }

    @Test
    void aTombstoneOnTheReleasesTopicClearsTheCurrentRelease() {
        DashboardState state = new DashboardState(5, 3);
        AdapterSnapshot s = snapshot("support", "s", "L", 1, 1.0);
        state.currentRelease("rel", "support", release(evaluation(s, "e", null, "ok"), 1, ReleaseKind.RELEASE, null, Events.T0));
        assertThat(adapter(json(state), "support").get("current").isNull()).isFalse();
        state.currentRelease("rel", "support", null);
        assertThat(adapter(json(state), "support").get("current").isNull()).isTrue();
    }

    @Test
    void jsonKeepsHostileTextAsDataAndHasNoNaN() {
        DashboardState state = new DashboardState(5, 3);
        AdapterSnapshot s = snapshot(HOSTILE, "s\"1</script>", "L", 1, Double.NaN);
        state.snapshot("snaps", s);
        state.evaluation("evals", evaluation(s, "e", null, HOSTILE + "\n\u2028", check("no_leak", Double.POSITIVE_INFINITY, 0, false)));
        state.skipped("snaps", "undecodable record: " + HOSTILE);
        String text = state.toJson();
        assertThat(text).doesNotContain("NaN").doesNotContain("Infinity").doesNotContain("\n");
        JsonNode root = DashboardState.parse(text);
        JsonNode a = adapter(root, HOSTILE);
        assertThat(a.get("snapshots").get(0).get("snapshotId").asText()).isEqualTo("s\"1</script>");
        assertThat(a.get("snapshots").get(0).get("trainingLoss").isNull()).isTrue();
        assertThat(a.get("evaluations").get(0).get("reason").asText()).isEqualTo(HOSTILE + "\n\u2028");
        assertThat(a.get("evaluations").get(0).get("checks").get(0).get("value").isNull()).isTrue();
        assertThat(a.get("evaluations").get(0).get("passed").asBoolean()).isFalse();
        assertThat(root.get("kafka").get("lastSkipped").asText()).endsWith(HOSTILE);
    }

    @Test
    void theVersionMovesWithEveryUpdate() {
        DashboardState state = new DashboardState(5, 3);
        long v0 = state.version();
        state.snapshot("snaps", snapshot("support", "s", "L", 1, 1.0));
        long v1 = state.version();
        state.kafkaError("down");
        long v2 = state.version();
        state.kafkaError("down");
        assertThat(v1).isGreaterThan(v0);
        assertThat(v2).isGreaterThan(v1);
        assertThat(state.version()).as("the same error again is no change").isEqualTo(v2);
        state.kafkaOk(java.util.Set.of());
        long v3 = state.version();
        state.kafkaOk(java.util.Set.of());
        MetricsSource.Reading reading = new MetricsSource.Reading(List.of(new PrometheusText.Sample("qlora_x", Map.of(), 1)), List.of());
        state.metrics(reading, 1);
        long v4 = state.version();
        state.metrics(new MetricsSource.Reading(List.of(new PrometheusText.Sample("qlora_x", Map.of(), 1)), List.of()), 2);
        assertThat(v3).isGreaterThan(v2);
        assertThat(v4).isGreaterThan(v3);
        assertThat(state.version()).as("an equal metrics reading or topic listing is no change").isEqualTo(v4);
    }

    @Test
    void metricsAreSummedOverSourcesByTheirBreakdownLabel() {
        DashboardState state = new DashboardState(5, 3);
        List<PrometheusText.Sample> samples = List.of(
                new PrometheusText.Sample("qlora_ingest_events_in_total", Map.of("source", "support-tickets", "instance", "a"), 100),
                new PrometheusText.Sample("qlora_ingest_events_in_total", Map.of("source", "support-tickets", "instance", "b"), 50),
                new PrometheusText.Sample("qlora_ingest_events_in_total", Map.of("source", "code-reviews", "instance", "a"), 30),
                new PrometheusText.Sample("qlora_ingest_filtered_total", Map.of("reason", "bot"), 7),
                new PrometheusText.Sample("qlora_ingest_redactions_total", Map.of("type", "EMAIL"), 12),
                new PrometheusText.Sample("qlora_ingest_dead_letters_total", Map.of("reason", "deserialization"), 2),
                new PrometheusText.Sample("qlora_trainer_step", Map.of("adapter", "support"), 40),
                new PrometheusText.Sample("qlora_trainer_loss", Map.of("adapter", "support"), 1.5),
                new PrometheusText.Sample("qlora_trainer_consumer_lag_records", Map.of("adapter", "support", "partition", "0"), 3),
                new PrometheusText.Sample("qlora_trainer_consumer_lag_records", Map.of("adapter", "support", "partition", "1"), 4),
                new PrometheusText.Sample("qlora_trainer_loss", Map.of("adapter", "code-review"), Double.NaN));
        state.metrics(new MetricsSource.Reading(samples, List.of(new MetricsSource.SourceStatus("http://x/metrics", true, ""),
                new MetricsSource.SourceStatus("http://y/metrics", false, "unreachable (ConnectException)"))), 1234);
        JsonNode m = json(state).get("metrics");
        assertThat(m.get("ingest").get("eventsIn").get("support-tickets").asDouble()).isEqualTo(150);
        assertThat(m.get("ingest").get("eventsIn").get("code-reviews").asDouble()).isEqualTo(30);
        assertThat(m.get("ingest").get("filtered").get("bot").asDouble()).isEqualTo(7);
        assertThat(m.get("ingest").get("redactions").get("EMAIL").asDouble()).isEqualTo(12);
        assertThat(m.get("ingest").get("deadLetters").get("deserialization").asDouble()).isEqualTo(2);
        assertThat(m.get("trainer")).hasSize(1);
        assertThat(m.get("trainer").get(0).get("step").asDouble()).isEqualTo(40);
        assertThat(m.get("trainer").get(0).get("lagRecords").asDouble()).isEqualTo(7);
        assertThat(m.get("sources").get(1).get("ok").asBoolean()).isFalse();
        assertThat(m.get("readAt").asLong()).isEqualTo(1234);
    }
}
