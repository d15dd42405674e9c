package io.qlorastream.app.dashboard;

import com.fasterxml.jackson.databind.JsonNode;
import io.qlorastream.app.QloraStream;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The dashboard's HTTP side over real HTTP, against a broker that is not there. */
class DashboardServerTest {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    static int closedPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static Properties unreachableKafka() throws Exception {
        Properties p = new Properties();
        p.setProperty("bootstrap.servers", "127.0.0.1:" + closedPort());
        p.setProperty("schema.registry.url", "http://127.0.0.1:" + closedPort());
        p.setProperty("default.api.timeout.ms", "1500");
        return p;
    }

    private HttpResponse<String> get(Dashboard d, String path, String method) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + d.port() + path))
                .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void servesThePageItsFilesAndStateWithContentTypesAndACspAndShowsAnUnreachableBroker() throws Exception {
        Properties kafka = unreachableKafka();
        try (Dashboard d = Dashboard.start(DashboardConfig.defaults().withListen("127.0.0.1", 0), kafka, MetricsSource.none())) {
            assertThat(d.url()).isEqualTo("http://127.0.0.1:" + d.port() + "/");
            HttpResponse<String> page = get(d, "/", "GET");
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
            assertThat(page.headers().firstValue("Content-Security-Policy")).get().asString().startsWith("default-src 'self'");
            assertThat(page.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
            assertThat(page.body()).contains("<script src=\"/static/app.js\"").doesNotContain("http://").doesNotContain("https://");

            HttpResponse<String> js = get(d, "/static/app.js", "GET");
            assertThat(js.statusCode()).isEqualTo(200);
            assertThat(js.headers().firstValue("Content-Type")).hasValue("text/javascript; charset=utf-8");
            assertThat(js.body()).doesNotContain("innerHTML =").doesNotContain("eval(");
            assertThat(get(d, "/static/app.css", "GET").headers().firstValue("Content-Type")).hasValue("text/css; charset=utf-8");
            for (String missing : List.of("/static/index.html", "/static/../Dashboard.class", "/static/", "/nope", "/api")) {
                assertThat(get(d, missing, "GET").statusCode()).as(missing).isEqualTo(404);
            }
            assertThat(get(d, "/api/state", "POST").statusCode()).isEqualTo(405);

            HttpResponse<String> state = get(d, "/api/state", "GET");
            assertThat(state.headers().firstValue("Content-Type")).hasValue("application/json; charset=utf-8");
            JsonNode root = DashboardState.parse(state.body());
            assertThat(root.get("kafka").get("bootstrapServers").asText()).isEqualTo(kafka.getProperty("bootstrap.servers"));
            assertThat(root.get("kafka").get("topics")).hasSize(4);
            assertThat(root.get("kafka").get("topics").get(0).get("name").asText()).isEqualTo("adapter-snapshots");

            // the reader reports the broker it cannot reach; the server keeps serving
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            JsonNode kafkaState;
            do {
                Thread.sleep(200);
                kafkaState = DashboardState.parse(get(d, "/api/state", "GET").body()).get("kafka");
            } while (!kafkaState.get("status").asText().equals("error") && System.nanoTime() < deadline);
            assertThat(kafkaState.get("status").asText()).isEqualTo("error");
            assertThat(kafkaState.get("error").asText()).contains("unreachable").contains(kafka.getProperty("bootstrap.servers"));
        }
    }

    @Test
    void theEventStreamPushesTheStateAsServerSentEvents() throws Exception {
        try (Dashboard d = Dashboard.start(DashboardConfig.defaults().withListen("127.0.0.1", 0), unreachableKafka(), MetricsSource.none())) {
            HttpResponse<java.io.InputStream> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + d.port() + "/api/events")).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type")).hasValue("text/event-stream; charset=utf-8");
            List<String> lines = new ArrayList<>();
            try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    lines.add(line);
                    if (line.startsWith("data: ")) {
                        break;
                    }
                }
            }
            assertThat(lines).startsWith("retry: 2000", "", "event: state");
            JsonNode state = DashboardState.parse(lines.get(lines.size() - 1).substring("data: ".length()));
            assertThat(state.get("adapters")).isEmpty();
        }
    }

    @Test
    void aPortInUseIsOneLineNamingItAndExitOne() throws Exception {
        try (ServerSocket taken = new ServerSocket(0)) {
            int port = taken.getLocalPort();
            assertThatThrownBy(() -> Dashboard.start(DashboardConfig.defaults().withListen("0.0.0.0", port), unreachableKafka(), MetricsSource.none()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("--port: cannot listen on 0.0.0.0:" + port);
            StringWriter err = new StringWriter();
            int code = QloraStream.commandLine().setErr(new PrintWriter(err))
                    .execute("dashboard", "--port", String.valueOf(port), "--bootstrap-servers", "127.0.0.1:" + closedPort());
            assertThat(code).isEqualTo(1);
            assertThat(err.toString().strip()).isEqualTo("qlora-stream dashboard: --port: cannot listen on 127.0.0.1:" + port + " (Address already in use)");
        }
    }
}
