package io.qlorastream.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.events.AuthorRole;
import io.qlorastream.events.SupportTicket;
import io.qlorastream.events.TicketChannel;
import io.qlorastream.events.TicketMessage;
import io.qlorastream.events.TicketStatus;
import io.qlorastream.schemas.registry.SchemaRegistryClient;
import io.qlorastream.schemas.serde.AvroDeserializer;
import io.qlorastream.schemas.serde.AvroSerializer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The "done when" of the schemas issue: with {@code ./qlora-stream stack} running, Confluent's own Python client
 * (Debian's python3-confluent-kafka 1.7, its legacy {@code confluent_kafka.avro} API: AvroProducer, and for reading our string-keyed topics the registry client and MessageSerializer AvroConsumer is built on, with
 * python3-avro and python3-requests) and our serdes read each other's events, both ways, through our broker and
 * registry. Run with /usr/bin/python3 explicitly: the Debian packages live in the system interpreter.
 */
class ConfluentPythonInteropIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void confluentsPythonClientAndOursReadEachOther(@TempDir Path tmp) throws Exception {
        int port = StackCommandIT.freePort();
        int registryPort = StackCommandIT.freePort();
        String bootstrap = "127.0.0.1:" + port;
        String registry = "http://127.0.0.1:" + registryPort;
        Path script = tmp.resolve("confluent_interop.py");
        try (var in = ConfluentPythonInteropIT.class.getResourceAsStream("/confluent_interop.py")) {
            Files.write(script, in.readAllBytes());
        }
        try (JarProcess stack = JarProcess.start("stack", "--port", Integer.toString(port), "--registry-port", Integer.toString(registryPort))) {
            stack.awaitStdout("Schema registry ready", Duration.ofSeconds(90));

            // Ours -> Confluent's: our serializer writes, AvroConsumer reads.
            List<SupportTicket> ours = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                ours.add(SupportTicket.newBuilder().setTicketId("T-java-" + i).setCreatedAt(Instant.ofEpochMilli(1_764_000_000_123L + i))
                        .setProduct("java").setChannel(TicketChannel.CHAT).setLanguage("fr").setSubject("Café n°" + i)
                        .setMessages(List.of(new TicketMessage(AuthorRole.AGENT, "réponse " + i, Instant.ofEpochMilli(1_764_000_000_999L))))
                        .setStatus(TicketStatus.SOLVED).setTags(List.of("a", "b")).setSatisfactionScore(i == 1 ? null : i).build());
            }
            Properties pp = new Properties();
            pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            AvroSerializer<SupportTicket> serializer = new AvroSerializer<>();
            serializer.configure(Map.of("schema.registry.url", registry), false);
            try (KafkaProducer<String, SupportTicket> producer = new KafkaProducer<>(pp, new StringSerializer(), serializer)) {
                for (SupportTicket t : ours) {
                    producer.send(new ProducerRecord<>("interop-from-java", t.getTicketId(), t));
                }
                producer.flush();
            }
            List<String> lines = python(tmp, "consume", bootstrap, registry, "interop-from-java", "3");
            assertThat(lines).hasSize(3);
            for (int i = 0; i < 3; i++) {
                JsonNode n = JSON.readTree(lines.get(i));
                SupportTicket t = ours.get(i);
                assertThat(n.get("ticket_id").asText()).isEqualTo(t.getTicketId());
                assertThat(n.get("created_at").asLong()).isEqualTo(t.getCreatedAt().toEpochMilli());
                assertThat(n.get("subject").asText()).isEqualTo(t.getSubject());
                assertThat(n.get("channel").asText()).isEqualTo("CHAT");
                assertThat(n.get("messages").get(0).get(0).asText()).isEqualTo("AGENT");
                assertThat(n.get("messages").get(0).get(1).asText()).isEqualTo("réponse " + i);
                assertThat(n.get("messages").get(0).get(2).asLong()).isEqualTo(1_764_000_000_999L);
                assertThat(n.get("tags").toString()).isEqualTo("[\"a\",\"b\"]");
                assertThat(n.get("satisfaction_score").isNull()).isEqualTo(i == 1);
            }

            // Confluent's -> ours: AvroProducer registers the schema and writes, our deserializer reads.
            Path schemaFile = tmp.resolve("SupportTicket.avsc");
            Files.writeString(schemaFile, SupportTicket.getClassSchema().toString());
            assertThat(python(tmp, "produce", bootstrap, registry, "interop-from-python", "3", schemaFile.toString())).containsExactly("produced 3");
            assertThat(SchemaRegistryClient.of(registry).subjects()).contains("interop-from-java-value", "interop-from-python-value");

            Properties cp = new Properties();
            cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            List<SupportTicket> read = new ArrayList<>();
            AvroDeserializer<SupportTicket> deserializer = new AvroDeserializer<SupportTicket>(SchemaRegistryClient.of(registry), SupportTicket.class)
                    .configured(Map.of("schema.registry.url", registry), false);
            try (KafkaConsumer<String, SupportTicket> consumer = new KafkaConsumer<>(cp, new StringDeserializer(), deserializer)) {
                TopicPartition tp = new TopicPartition("interop-from-python", 0);
                consumer.assign(Set.of(tp));
                consumer.seekToBeginning(Set.of(tp));
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (read.size() < 3 && System.nanoTime() < deadline) {
                    consumer.poll(Duration.ofMillis(300)).forEach(r -> read.add(r.value()));
                }
            }
            assertThat(read).hasSize(3);
            Instant t0 = Instant.parse("2026-11-28T12:00:00.500Z");
            for (int i = 0; i < 3; i++) {
                SupportTicket t = read.get(i);
                assertThat(t.getTicketId()).isEqualTo("T-py-" + i);
                assertThat(t.getCreatedAt()).isEqualTo(t0);
                assertThat(t.getSubject()).isEqualTo("Grüße aus Python " + i);
                assertThat(t.getChannel()).isEqualTo(TicketChannel.EMAIL);
                assertThat(t.getStatus()).isEqualTo(TicketStatus.PENDING);
                assertThat(t.getMessages()).containsExactly(new TicketMessage(AuthorRole.CUSTOMER, "Hallo " + i, t0));
                assertThat(t.getTags()).containsExactly("py");
                assertThat(t.getSatisfactionScore()).isEqualTo(i);
                assertThat(t.getResolution()).isNull();
            }
            stack.terminate(Duration.ofSeconds(60));
        }
    }

    /** Runs the Python side with Debian's interpreter; returns its stdout lines, failing with its stderr. */
    private static List<String> python(Path tmp, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", tmp.resolve("confluent_interop.py").toString()));
        cmd.addAll(List.of(args));
        Path err = tmp.resolve("python-" + args[0] + ".err");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("python finished").isTrue();
        assertThat(p.exitValue()).as("python exit code; stderr: " + Files.readString(err) + "\nstdout: " + out).isZero();
        return out.lines().toList();
    }
}
