package io.qlorastream.app;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import io.qlorastream.events.SupportTicket;
import io.qlorastream.events.TicketChannel;
import io.qlorastream.events.TicketStatus;
import io.qlorastream.schemas.serde.AvroSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Runs `qlora-stream stack` from the real fat jar, as a user would, and talks to it with real clients. */
class StackCommandIT {

    @Test
    void stackServesABrokerAndARegistryThatKeepTheirDataAcrossARestart(@TempDir Path dataDir) throws Exception {
        int port = freePort();
        int registryPort = freePort();
        String registryUrl = "http://127.0.0.1:" + registryPort;
        int ticketSchemaId;
        List<String> written = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            written.add("event-" + i);
        }
        String bootstrap = "127.0.0.1:" + port;

        try (JarProcess stack = JarProcess.start("stack", "--port", Integer.toString(port), "--registry-port", Integer.toString(registryPort),
                "--data-dir", dataDir.toString())) {
            assertThat(stack.awaitStdout("Kafka broker ready", Duration.ofSeconds(90)))
                    .contains("bootstrap servers " + bootstrap);
            assertThat(stack.awaitStdout("Schema registry ready", Duration.ofSeconds(90)))
                    .contains(registryUrl).contains("_schemas");
            assertThat(httpGet(registryUrl + "/subjects")).isEqualTo("[]");
            // Our serializer registers SupportTicket under stack-tickets-value; the registry lists it over HTTP.
            ticketSchemaId = produceTicket(bootstrap, registryUrl);
            assertThat(httpGet(registryUrl + "/subjects")).isEqualTo("[\"stack-tickets-value\"]");

            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
                admin.createTopics(List.of(new NewTopic("stack-it", 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            }
            produce(bootstrap, "stack-it", written);
            assertThat(consume(bootstrap, "stack-it", written.size())).isEqualTo(written);

            // kcat, a client outside the JVM, sees the broker and the topic.
            Process kcat = new ProcessBuilder("kcat", "-b", bootstrap, "-L").redirectErrorStream(true).start();
            String listing = new String(kcat.getInputStream().readAllBytes());
            assertThat(kcat.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(kcat.exitValue()).as(listing).isZero();
            assertThat(listing).contains("1 brokers:").contains("broker 1 at 127.0.0.1:" + port).contains("topic \"stack-it\"");

            assertThat(stack.terminate(Duration.ofSeconds(60))).as("exit code after SIGTERM").isIn(0, 143);
            assertThat(stack.stdout()).contains("Stack stopped.");
        }

        try (JarProcess restarted = JarProcess.start("stack", "--port", Integer.toString(port), "--registry-port", Integer.toString(registryPort),
                "--data-dir", dataDir.toString())) {
            restarted.awaitStdout("Schema registry ready", Duration.ofSeconds(90));
            assertThat(consume(bootstrap, "stack-it", written.size())).isEqualTo(written);
            // The registry rebuilt itself from _schemas: same subject, same id.
            assertThat(httpGet(registryUrl + "/subjects")).isEqualTo("[\"stack-tickets-value\"]");
            assertThat(httpGet(registryUrl + "/subjects/stack-tickets-value/versions/latest")).contains("\"id\":" + ticketSchemaId);
            restarted.terminate(Duration.ofSeconds(60));
        }
    }

    @Test
    void aTakenPortFailsWithOneLineNamingThePort() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
             JarProcess stack = JarProcess.start("stack", "--port", Integer.toString(taken.getLocalPort()), "--registry-port", Integer.toString(freePort()))) {
            assertThat(stack.awaitExit(Duration.ofSeconds(60))).isEqualTo(1);
            assertThat(stack.stderrLines()).containsExactly(
                    "qlora-stream stack: port " + taken.getLocalPort() + " (--port) is already in use on 127.0.0.1");
        }
    }

    @Test
    void aTakenRegistryPortFailsWithOneLineNamingIt() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
             JarProcess stack = JarProcess.start("stack", "--port", Integer.toString(freePort()), "--registry-port", Integer.toString(taken.getLocalPort()))) {
            assertThat(stack.awaitExit(Duration.ofSeconds(60))).isEqualTo(1);
            assertThat(stack.stderrLines()).containsExactly(
                    "qlora-stream stack: port " + taken.getLocalPort() + " (--registry-port) is already in use on 127.0.0.1");
        }
    }

    @Test
    void anUnknownOptionExitsTwoWithOneLineNamingIt() throws Exception {
        try (JarProcess stack = JarProcess.start("stack", "--prot", "9092")) {
            assertThat(stack.awaitExit(Duration.ofSeconds(60))).isEqualTo(2);
            assertThat(stack.stderrLines()).hasSize(1);
            assertThat(stack.stderrLines().get(0)).startsWith("qlora-stream stack: Unknown option").contains("'--prot'");
        }
    }

    @Test
    void helpListsEveryCommand() throws Exception {
        try (JarProcess help = JarProcess.start("--help")) {
            assertThat(help.awaitExit(Duration.ofSeconds(60))).isZero();
            assertThat(help.stdout()).contains("Commands:").containsPattern("(?m)^  stack\\s+Run an embedded");
        }
    }

    /** A plain HTTP GET, as curl would do it; asserts 200 and returns the body. */
    static String httpGet(String url) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(url + " -> " + r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/vnd.schemaregistry.v1+json");
        return r.body();
    }

    /** Writes one SupportTicket with our serializer; returns the schema id in its wire-format header. */
    static int produceTicket(String bootstrap, String registryUrl) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        AvroSerializer<SupportTicket> serializer = new AvroSerializer<>();
        serializer.configure(Map.of("schema.registry.url", registryUrl), false);
        SupportTicket ticket = SupportTicket.newBuilder().setTicketId("T-1").setCreatedAt(Instant.ofEpochMilli(1_700_000_000_000L))
                .setProduct("p").setChannel(TicketChannel.WEB).setLanguage("en").setSubject("s").setMessages(List.of())
                .setStatus(TicketStatus.OPEN).build();
        byte[] bytes = serializer.serialize("stack-tickets", ticket);
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>("stack-tickets", bytes));
            producer.flush();
        }
        return java.nio.ByteBuffer.wrap(bytes, 1, 4).getInt();
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    static void produce(String bootstrap, String topic, List<String> values) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            values.forEach(v -> producer.send(new ProducerRecord<>(topic, v)));
            producer.flush();
        }
    }

    static List<String> consume(String bootstrap, String topic, int expected) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        List<String> read = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(Set.of(tp));
            consumer.seekToBeginning(Set.of(tp));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (read.size() < expected && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    read.add(r.value());
                }
            }
        }
        return read;
    }
}
