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
import io.qlorastream.app.http.HttpAuth;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

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

    private HttpResponse<String> scrapeWith(int port, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Command(name = "probe")
    static final class Probe implements Runnable {
        @Mixin
        MetricsOptions metrics;

        @Override
        public void run() {
        }
    }

    private static MetricsOptions options(String... args) {
        Probe probe = new Probe();
        new CommandLine(probe).parseArgs(args);
        return probe.metrics;
    }

    @Test
    void theDefaultBindIsLoopback() throws Exception {
        try (MetricsEndpoint endpoint = options("--metrics-port", "0").start("unit", new java.io.PrintStream(java.io.OutputStream.nullOutputStream()))) {
            assertThat(endpoint.address().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
            assertThat(scrapeWith(endpoint.port(), null).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aBearerTokenOrBasicAuthGuardsTheScrape(@TempDir Path tmp) throws Exception {
        String token = "metrics-token-0123456789";
        Path tokenFile = Files.writeString(tmp.resolve("token"), token + "\n");
        Path users = Files.writeString(tmp.resolve("users"), "prometheus:scrape-me\n");
        java.io.ByteArrayOutputStream said = new java.io.ByteArrayOutputStream();
        try (MetricsEndpoint endpoint = options("--metrics-port", "0", "--metrics-auth-token-file", tokenFile.toString(),
                "--metrics-basic-auth-file", users.toString()).start("unit", new java.io.PrintStream(said, true, StandardCharsets.UTF_8))) {
            int port = endpoint.port();
            HttpResponse<String> none = scrapeWith(port, null);
            assertThat(none.statusCode()).isEqualTo(401);
            assertThat(none.headers().allValues("WWW-Authenticate")).hasSize(2);
            assertThat(scrapeWith(port, "Bearer " + token.substring(1)).statusCode()).isEqualTo(401);
            assertThat(scrapeWith(port, basic("prometheus:scrape-m")).statusCode()).isEqualTo(401);
            HttpResponse<String> bearer = scrapeWith(port, "Bearer " + token);
            assertThat(bearer.statusCode()).isEqualTo(200);
            assertThat(bearer.body()).contains("jvm_memory_used_bytes{");
            assertThat(scrapeWith(port, basic("prometheus:scrape-me")).statusCode()).isEqualTo(200);
            // what a client of these files sends is admitted
            assertThat(scrapeWith(port, HttpAuth.clientHeader("t", null, "b", users)).statusCode()).isEqualTo(200);
            assertThat(scrapeWith(port, HttpAuth.clientHeader("t", tokenFile, "b", null)).statusCode()).isEqualTo(200);
        }
        assertThat(said.toString(StandardCharsets.UTF_8)).contains("bearer token or basic auth (1 user)").doesNotContain(token).doesNotContain("scrape-me");
    }

    private static String basic(String userPassword) {
        return "Basic " + Base64.getEncoder().encodeToString(userPassword.getBytes(StandardCharsets.UTF_8));
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
