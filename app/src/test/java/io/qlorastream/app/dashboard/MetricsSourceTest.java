package io.qlorastream.app.dashboard;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.qlorastream.app.metrics.MetricsEndpoint;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class MetricsSourceTest {
    @Test
    void scrapesEveryEndpointAndReportsAnUnreachableOneWithoutThrowing() throws Exception {
        CompositeMeterRegistry global = Metrics.globalRegistry;
        Counter c = Counter.builder("qlora.ingest.dead.letters").tag("reason", "deserialization").register(global);
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        try (MetricsEndpoint endpoint = MetricsEndpoint.start("ingest", "127.0.0.1", 0)) {
            c.increment(2);
            URI good = URI.create("http://127.0.0.1:" + endpoint.port() + "/metrics");
            URI down = URI.create("http://127.0.0.1:" + closedPort + "/metrics");
            MetricsSource.Reading r = MetricsSource.scrape(List.of(good, down), Duration.ofSeconds(2)).read();
            assertThat(r.samples()).contains(new PrometheusText.Sample("qlora_ingest_dead_letters_total",
                    Map.of("reason", "deserialization", "service", "ingest"), 2));
            assertThat(r.samples()).allMatch(s -> s.name().startsWith("qlora_"));
            assertThat(r.sources()).hasSize(2);
            assertThat(r.sources().get(0)).isEqualTo(new MetricsSource.SourceStatus(good.toString(), true, ""));
            assertThat(r.sources().get(1).ok()).isFalse();
            assertThat(r.sources().get(1).error()).startsWith("unreachable");
        } finally {
            global.remove(c);
        }
    }

    @Test
    void inProcessReadsTheGlobalRegistryUnderPrometheusNamesAndDetachesOnClose() {
        CompositeMeterRegistry global = Metrics.globalRegistry;
        int before = global.getRegistries().size();
        Counter c = null;
        try (MetricsSource source = MetricsSource.inProcess(global)) {
            assertThat(global.getRegistries()).hasSize(before + 1);
            c = Counter.builder("qlora.publisher.releases").tag("adapter", "support").tag("kind", "rollback").register(global);
            c.increment();
            assertThat(source.read().samples()).contains(new PrometheusText.Sample("qlora_publisher_releases_total",
                    Map.of("adapter", "support", "kind", "rollback"), 1));
        } finally {
            if (c != null) {
                global.remove(c);
            }
        }
        assertThat(global.getRegistries()).hasSize(before);
    }
}
