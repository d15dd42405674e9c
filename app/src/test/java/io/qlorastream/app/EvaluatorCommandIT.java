package io.qlorastream.app;

import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.events.LoraConfig;
import io.qlorastream.events.SourceCoordinates;
import io.qlorastream.events.SourceKind;
import io.qlorastream.events.Split;
import io.qlorastream.events.TrainingExample;
import io.qlorastream.schemas.serde.AvroDeserializer;
import io.qlorastream.schemas.serde.AvroSerializer;
import io.qlorastream.store.StoredArtifact;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** `evaluator` from the real fat jar against `stack`: a verdict with its report, Ctrl-C, and a restart that does not judge again. */
class EvaluatorCommandIT {

    @Test
    void judgesASnapshotOnceAcrossARestart(@TempDir Path dir) throws Exception {
        Path model = TinySnapshots.model(dir.resolve("model"));
        Path store = dir.resolve("store");
        StoredArtifact artifact = TinySnapshots.train(model, store, "support/snapshots/s-1");
        int port = freePort();
        int registryPort = freePort();
        String bootstrap = "127.0.0.1:" + port;
        String registry = "http://127.0.0.1:" + registryPort;
        try (JarProcess stack = JarProcess.start("stack", "--port", Integer.toString(port), "--registry-port", Integer.toString(registryPort))) {
            stack.awaitStdout("Schema registry ready", Duration.ofSeconds(90));
            Properties client = new Properties();
            client.put("bootstrap.servers", bootstrap);
            try (Admin admin = Admin.create(client)) {
                admin.createTopics(List.of(new NewTopic("eval-examples", 1, (short) 1), new NewTopic("adapter-snapshots", 1, (short) 1),
                        new NewTopic("adapter-evaluations", 1, (short) 1), new NewTopic("adapter-releases", 1, (short) 1)))
                        .all().get(30, TimeUnit.SECONDS);
            }
            List<TrainingExample> examples = new ArrayList<>();
            for (int i = 500; i < 516; i++) {
                examples.add(TrainingExample.newBuilder().setExampleId("ex-" + i).setAdapterName("support")
                        .setSourceKind(SourceKind.SUPPORT_TICKET).setSource(new SourceCoordinates("support-tickets", 0, (long) i))
                        .setPrompt(TinySnapshots.example(i).prompt()).setResponse(TinySnapshots.example(i).response())
                        .setSplit(Split.EVAL).setCreatedAt(Instant.now()).build());
            }
            produce(bootstrap, registry, "eval-examples", examples);
            AdapterSnapshot event = AdapterSnapshot.newBuilder().setAdapterName("support").setSnapshotId("s-1").setLineageId("live-1")
                    .setStep(40).setExamplesSeen(160).setTokensSeen(4000).setTrainingLoss(5.0).setBaseModelName("tiny")
                    .setBaseModelHash(TinySnapshots.baseModelHash(model))
                    .setLoraConfig(new LoraConfig(8, 16.0, 0.0, false, List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")))
                    .setArtifactUri(artifact.uri().toString()).setArtifactSha256(artifact.sha256()).setOffsetRanges(List.of())
                    .setCreatedAt(Instant.now()).build();
            produce(bootstrap, registry, "adapter-snapshots", List.of(event));

            String[] args = {"evaluator", "--bootstrap-servers", bootstrap, "--schema-registry-url", registry, "--model", model.toString(),
                    "--adapter-store", store.toString(), "--work-dir", dir.resolve("work").toString(), "--threads", "2"};
            try (JarProcess evaluator = JarProcess.start(args)) {
                evaluator.awaitStdout("Evaluator running: 16 eval examples read, 0 snapshots already judged", Duration.ofSeconds(90));
                String verdict = evaluator.awaitStdout("of support snapshot s-1", Duration.ofSeconds(120));
                assertThat(verdict).as(evaluator.stdout() + evaluator.stderr()).endsWith("PASSED");
                assertThat(evaluator.stdout()).contains("judging support/s-1").contains("candidate held-out NLL 4/4")
                        .containsPattern("ok\\s+checksum").containsPattern("ok\\s+base_model").contains("reason: passed");
                assertThat(evaluator.terminate(Duration.ofSeconds(60))).isNotEqualTo(-1);
                assertThat(evaluator.stdout()).contains("Evaluator stopped.");
            }
            // the trainer re-sends the event: the restarted service knows the verdict and skips it
            produce(bootstrap, registry, "adapter-snapshots", List.of(event));
            try (JarProcess evaluator = JarProcess.start(args)) {
                evaluator.awaitStdout("1 snapshots already judged", Duration.ofSeconds(90));
                evaluator.awaitStdout("skipped support/s-1: already judged", Duration.ofSeconds(60));
                assertThat(evaluator.terminate(Duration.ofSeconds(60))).isNotEqualTo(-1);
                assertThat(evaluator.stdout()).doesNotContain("judging support/s-1");
            }
            List<AdapterEvaluation> verdicts = readAll(bootstrap, registry, "adapter-evaluations");
            assertThat(verdicts).hasSize(1);
            assertThat(verdicts.get(0).getPassed()).isTrue();
            assertThat(verdicts.get(0).getHeldoutSetSize()).isEqualTo(16);
        }
    }

    private static <V extends SpecificRecord> void produce(String bootstrap, String registry, String topic, List<V> values) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("acks", "all");
        AvroSerializer<V> ser = new AvroSerializer<>();
        ser.configure(Map.of("schema.registry.url", registry), false);
        try (KafkaProducer<String, V> producer = new KafkaProducer<>(p, new StringSerializer(), ser)) {
            for (V v : values) {
                producer.send(new ProducerRecord<>(topic, "support", v));
            }
            producer.flush();
        }
    }

    private static List<AdapterEvaluation> readAll(String bootstrap, String registry, String topic) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("isolation.level", "read_committed");
        AvroDeserializer<AdapterEvaluation> d = new AvroDeserializer<AdapterEvaluation>()
                .configured(Map.of("schema.registry.url", registry, "specific.avro.reader", true), false);
        List<AdapterEvaluation> out = new ArrayList<>();
        try (KafkaConsumer<String, AdapterEvaluation> consumer = new KafkaConsumer<>(p, new StringDeserializer(), d)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (consumer.position(tp) < end && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, AdapterEvaluation> r : consumer.poll(Duration.ofMillis(200))) {
                    out.add(r.value());
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
