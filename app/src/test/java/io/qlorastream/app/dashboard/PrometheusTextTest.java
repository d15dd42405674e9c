package io.qlorastream.app.dashboard;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class PrometheusTextTest {
    @Test
    void parsesNamesLabelsEscapesSpecialValuesAndTimestamps() {
        String text = """
                # HELP qlora_ingest_events_in_total Input events read, by source topic
                # TYPE qlora_ingest_events_in_total counter
                qlora_ingest_events_in_total{application="qlora-ingest",service="ingest",source="support-tickets"} 1200.0
                qlora_ingest_filtered_total{reason="a \\"quoted\\" back\\\\slash\\nline",service="ingest"} 3 1700000000000
                qlora_trainer_loss{adapter="support"} NaN
                qlora_trainer_step{adapter="support",} +Inf
                qlora_trainer_tokens_per_second -Inf
                qlora_plain 4.5e2
                jvm_memory_used_bytes{area="heap"} 12345
                """;
        List<PrometheusText.Sample> s = PrometheusText.parse(text, "qlora_");
        assertThat(s).hasSize(6);
        assertThat(s.get(0)).isEqualTo(new PrometheusText.Sample("qlora_ingest_events_in_total",
                Map.of("application", "qlora-ingest", "service", "ingest", "source", "support-tickets"), 1200.0));
        assertThat(s.get(1).label("reason")).isEqualTo("a \"quoted\" back\\slash\nline");
        assertThat(s.get(1).value()).isEqualTo(3.0);
        assertThat(s.get(2).value()).isNaN();
        assertThat(s.get(3).value()).isEqualTo(Double.POSITIVE_INFINITY);
        assertThat(s.get(3).labels()).containsOnly(Map.entry("adapter", "support"));
        assertThat(s.get(4).value()).isEqualTo(Double.NEGATIVE_INFINITY);
        assertThat(s.get(4).labels()).isEmpty();
        assertThat(s.get(5).value()).isEqualTo(450.0);
        assertThat(PrometheusText.parse(text, "")).hasSize(7);
    }

    @Test
    void aMalformedLineIsSkippedAndTheRestKept() {
        String text = """
                qlora_a{x="unterminated} 1
                qlora_b{x=1} 2
                qlora_c{="v"} 3
                qlora_d{x="v"} notanumber
                qlora_e{x="v"} 1 2 3
                qlora_f 7
                """;
        assertThat(PrometheusText.parse(text, "qlora_")).containsExactly(new PrometheusText.Sample("qlora_f", Map.of(), 7));
    }

    @Test
    void readsWhatMicrometersPrometheusRegistryWritesUnderTheNamesTheReadmeLists() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Counter.builder("qlora.ingest.events.in").tag("source", "code-reviews").register(registry).increment(5);
        AtomicLong redacted = new AtomicLong(7);
        FunctionCounter.builder("qlora.ingest.redactions", redacted, AtomicLong::get).tag("type", "EMAIL").register(registry);
        Gauge.builder("qlora.trainer.loss", () -> 2.25).tag("adapter", "support").register(registry);
        List<PrometheusText.Sample> s = PrometheusText.parse(registry.scrape(), "qlora_");
        assertThat(s).contains(
                new PrometheusText.Sample("qlora_ingest_events_in_total", Map.of("source", "code-reviews"), 5),
                new PrometheusText.Sample("qlora_ingest_redactions_total", Map.of("type", "EMAIL"), 7),
                new PrometheusText.Sample("qlora_trainer_loss", Map.of("adapter", "support"), 2.25));
        registry.close();
    }
}
