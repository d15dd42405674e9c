package io.qlorastream.app;

import io.qlorastream.events.TrainingExample;
import io.qlorastream.ingest.sample.SampleGenerator;
import io.qlorastream.schemas.serde.AvroDeserializer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** `produce-sample` then `ingest` from the real fat jar against `stack`, as a user would run them. */
class IngestCommandIT {

    @Test
    void produceSampleThenIngestWritesRedactedExamples(@TempDir Path dir) throws Exception {
        int port = freePort();
        int registryPort = freePort();
        String bootstrap = "127.0.0.1:" + port;
        String registry = "http://127.0.0.1:" + registryPort;
        try (JarProcess stack = JarProcess.start("stack", "--port", Integer.toString(port), "--registry-port", Integer.toString(registryPort))) {
            stack.awaitStdout("Schema registry ready", Duration.ofSeconds(90));

            try (JarProcess produce = JarProcess.start("produce-sample", "--tickets", "300", "--reviews", "200", "--seed", "5",
                    "--bootstrap-servers", bootstrap, "--schema-registry-url", registry)) {
                assertThat(produce.awaitExit(Duration.ofSeconds(120))).as(produce.stderr()).isZero();
                assertThat(produce.stdout()).contains("Wrote 500 records (300 to support-tickets, 200 to code-reviews)");
            }

            Path config = dir.resolve("ingest.properties");
            Files.writeString(config, "state.dir=" + dir.resolve("state") + "\n"
                    + "qlora.stream.ingest.application.id=ingest-it-" + UUID.randomUUID() + "\n"
                    + "qlora.stream.ingest.route.ticket.products=Billing=support-billing\n");
            try (JarProcess ingest = JarProcess.start("ingest", "--bootstrap-servers", bootstrap, "--schema-registry-url", registry,
                    "--config", config.toString(), "--metrics-interval", "2")) {
                ingest.awaitStdout("Ingest running", Duration.ofSeconds(90));
                ingest.awaitStdout("inputs_with_examples", Duration.ofSeconds(120));
                List<TrainingExample> examples = read(bootstrap, registry, List.of("training-examples", "eval-examples"));
                assertThat(examples).isNotEmpty();
                assertThat(examples).extracting(TrainingExample::getAdapterName).contains("support", "support-billing", "code-review");
                List<String> planted = new SampleGenerator(5).generate(300, 200).stream().flatMap(s -> s.planted().stream()).distinct().toList();
                for (TrainingExample e : examples) {
                    for (String p : planted) {
                        assertThat(e.getPrompt() + e.getResponse()).doesNotContain(p);
                    }
                }
                assertThat(ingest.terminate(Duration.ofSeconds(60))).isNotEqualTo(-1);
                assertThat(ingest.stdout()).contains("Ingest stopped.");
            }
        }
    }

    @Test
    void aBadIngestSettingIsAOneLineErrorNamingTheFileAndKey(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("bad.properties");
        Files.writeString(config, "qlora.stream.ingest.split.eval.fraction=2\n");
        try (JarProcess ingest = JarProcess.start("ingest", "--config", config.toString())) {
            assertThat(ingest.awaitExit(Duration.ofSeconds(60))).isEqualTo(2);
            assertThat(ingest.stderr()).contains(config + ": qlora.stream.ingest.split.eval.fraction: 2 is not a fraction in 0..1");
        }
    }

    private static List<TrainingExample> read(String bootstrap, String registry, List<String> topics) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("group.id", "it-" + UUID.randomUUID());
        p.put("auto.offset.reset", "earliest");
        p.put("isolation.level", "read_committed");
        AvroDeserializer<TrainingExample> d = new AvroDeserializer<TrainingExample>()
                .configured(Map.of("schema.registry.url", registry, "specific.avro.reader", true), false);
        List<TrainingExample> out = new ArrayList<>();
        try (KafkaConsumer<String, TrainingExample> consumer = new KafkaConsumer<>(p, new StringDeserializer(), d)) {
            consumer.subscribe(topics);
            long quietSince = System.nanoTime();
            while (System.nanoTime() - quietSince < 5_000_000_000L || out.isEmpty() && System.nanoTime() - quietSince < 60_000_000_000L) {
                for (ConsumerRecord<String, TrainingExample> r : consumer.poll(Duration.ofMillis(200))) {
                    out.add(r.value());
                    quietSince = System.nanoTime();
                }
            }
        }
        return out;
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
