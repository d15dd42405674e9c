package io.qlorastream.app.dashboard;

import com.fasterxml.jackson.databind.JsonNode;
import io.qlorastream.app.JarProcess;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.schemas.serde.AvroSerializer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.function.Predicate;

import static io.qlorastream.broker.EmbeddedKafkaBroker.freePort;
import static org.assertj.core.api.Assertions.assertThat;

/** `dashboard` from the real fat jar against `stack`, as an operator runs it: the page, a topic appearing late, a taken port. */
class DashboardCommandIT {
    private static final Duration WAIT = Duration.ofSeconds(90);
    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void servesThePipelineOfARunningStackAndRefusesATakenPort() throws Exception {
        int port = freePort();
        int registryPort = freePort();
        String bootstrap = "127.0.0.1:" + port;
        String registry = "http://127.0.0.1:" + registryPort;
        try (JarProcess stack = JarProcess.start("stack", "--port", Integer.toString(port), "--registry-port", Integer.toString(registryPort))) {
            stack.awaitStdout("Schema registry ready", WAIT);
            try (JarProcess dashboard = JarProcess.start("dashboard", "--port", "0", "--host", "127.0.0.1",
                    "--bootstrap-servers", bootstrap, "--schema-registry-url", registry)) {
                String line = dashboard.awaitStdout("Dashboard at ", WAIT);
                String url = line.substring(line.indexOf("http://"), line.indexOf('/', line.indexOf("http://") + 7) + 1);
                HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(page.statusCode()).isEqualTo(200);
                assertThat(page.body()).contains("/static/app.js");
                assertThat(http.send(HttpRequest.newBuilder(URI.create(url + "static/app.js")).build(), HttpResponse.BodyHandlers.ofString())
                        .body()).contains("EventSource");

                JsonNode before = awaitState(url, s -> s.get("kafka").get("status").asText().equals("ok"));
                assertThat(before.get("kafka").get("topics").get(0).get("present").asBoolean()).isFalse();

                // the trainer's topic appears after the dashboard started: it is picked up, its events decoded
                Properties client = new Properties();
                client.setProperty("bootstrap.servers", bootstrap);
                try (Admin admin = Admin.create(client)) {
                    admin.createTopics(List.of(new NewTopic("adapter-snapshots", 3, (short) 1))).all().get();
                }
                client.setProperty("schema.registry.url", registry);
                client.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
                client.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, AvroSerializer.class.getName());
                try (KafkaProducer<String, AdapterSnapshot> producer = new KafkaProducer<>(client)) {
                    producer.send(new ProducerRecord<>("adapter-snapshots", "support",
                            Events.snapshot("support", "s-1", "live-1", 10, 2.0, Events.range("training-examples", 0, 0, 80)))).get();
                }
                JsonNode after = awaitState(url, s -> s.get("adapters").size() == 1);
                assertThat(after.get("adapters").get(0).get("name").asText()).isEqualTo("support");
                assertThat(after.get("adapters").get(0).get("snapshots").get(0).get("step").asLong()).isEqualTo(10);

                int taken = URI.create(url).getPort();
                try (JarProcess second = JarProcess.start("dashboard", "--port", Integer.toString(taken), "--host", "127.0.0.1",
                        "--bootstrap-servers", bootstrap)) {
                    assertThat(second.awaitExit(WAIT)).isEqualTo(1);
                    assertThat(second.stderrLines()).filteredOn(l -> !l.isBlank())
                            .containsExactly("qlora-stream dashboard: --port: cannot listen on 127.0.0.1:" + taken + " (Address already in use)");
                }
            }
        }
    }

    private JsonNode awaitState(String url, Predicate<JsonNode> shown) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        JsonNode state;
        do {
            state = DashboardState.parse(http.send(HttpRequest.newBuilder(URI.create(url + "api/state")).build(),
                    HttpResponse.BodyHandlers.ofString()).body());
            if (shown.test(state)) {
                return state;
            }
            Thread.sleep(300);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("the dashboard's state never showed it: " + state);
    }
}
