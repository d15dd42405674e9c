package io.qlorastream.app.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Metrics;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/** The scrape endpoint over real HTTP: what the services put on the global registry is what Prometheus reads. */
class MetricsEndpointTest {
    private final HttpClient http = HttpClient.newHttpClient();

    private HttpResponse<String> get(int port, String method) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void servesTheGlobalRegistryInThePrometheusTextFormatWithJvmMetricsAndTheServiceTag() throws Exception {
        // registered before the endpoint starts, as ingest's counters may be: a function counter reads its source
        // at scrape time, so its value before the start is not lost (a plain Counter's increments would be)
        java.util.concurrent.atomic.AtomicLong source = new java.util.concurrent.atomic.AtomicLong(3);
        FunctionCounter early = FunctionCounter.builder("qlora.test.events", source, java.util.concurrent.atomic.AtomicLong::get)
                .tag("kind", "early").register(Metrics.globalRegistry);
        try (MetricsEndpoint endpoint = MetricsEndpoint.start("unit", "127.0.0.1", 0)) {
            Counter late = Counter.builder("qlora.test.events").tag("kind", "late").register(Metrics.globalRegistry);
            late.increment();
            HttpResponse<String> r = get(endpoint.port(), "GET");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type")).hasValue(MetricsEndpoint.CONTENT_TYPE);
            assertThat(r.body())
                    .contains("# TYPE qlora_test_events_total counter")
                    .containsPattern("qlora_test_events_total\\{kind=\"early\",service=\"unit\"} 3\\.0")
                    .containsPattern("qlora_test_events_total\\{kind=\"late\",service=\"unit\"} 1\\.0")
                    .contains("jvm_memory_used_bytes{")
                    .contains("process_uptime_seconds{");
            assertThat(get(endpoint.port(), "POST").statusCode()).isEqualTo(405);
        } finally {
            Metrics.globalRegistry.remove(early);
        }
    }

    @Test
    void aPortInUseIsAOneLineErrorNamingIt() throws IOException {
        try (ServerSocket taken = new ServerSocket(0)) {
            assertThatThrownBy(() -> MetricsEndpoint.start("unit", "0.0.0.0", taken.getLocalPort()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("--metrics-port: cannot listen on 0.0.0.0:" + taken.getLocalPort());
        }
    }

    @Test
    void closingStopsServingAndLeavesTheGlobalRegistry() throws Exception {
        MetricsEndpoint endpoint = MetricsEndpoint.start("unit", "127.0.0.1", 0);
        int port = endpoint.port();
        int registries = Metrics.globalRegistry.getRegistries().size();
        endpoint.close();
        assertThat(Metrics.globalRegistry.getRegistries()).hasSize(registries - 1);
        assertThatThrownBy(() -> get(port, "GET")).isInstanceOf(IOException.class);
    }
}
