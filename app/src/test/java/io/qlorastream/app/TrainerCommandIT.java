package io.qlorastream.app;

import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.broker.junit.EmbeddedKafkaExtension;
import io.qlorastream.engine.model.ModelMaker;
import io.qlorastream.engine.model.ModelShape;
import io.qlorastream.engine.tensor.DType;
import io.qlorastream.engine.tokenizer.ByteLevelBpeWriter;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.events.SourceCoordinates;
import io.qlorastream.events.SourceKind;
import io.qlorastream.events.Split;
import io.qlorastream.events.TrainingExample;
import io.qlorastream.schemas.junit.EmbeddedSchemaRegistryExtension;
import io.qlorastream.schemas.registry.server.EmbeddedSchemaRegistry;
import io.qlorastream.schemas.serde.AvroDeserializer;
import io.qlorastream.schemas.serde.AvroSerializer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The trainer as a process: SIGKILLed at random moments several times and restarted, it ends with the adapter (bytes
 * of adapter_model.safetensors) and the offsets of an uninterrupted run; `retrain --from-beginning` reproduces it.
 */
@ExtendWith({EmbeddedKafkaExtension.class, EmbeddedSchemaRegistryExtension.class})
class TrainerCommandIT {
    static final int EXAMPLES = 80;
    static final int STEPS = EXAMPLES / 2;

    @Test
    void killedAtRandomMomentsAndRestartedItEndsBitIdenticalToAnUninterruptedRunAndRetrainReproducesIt(
            EmbeddedKafkaBroker broker, EmbeddedSchemaRegistry registry, @TempDir Path dir) throws Exception {
        Path model = dir.resolve("tiny");
        ModelShape shape = ModelShape.preset("tiny");
        ByteLevelBpeWriter.write(model, shape.vocabSize());
        ModelMaker.write(model, shape, 3, DType.F32);
        String bootstrap = broker.bootstrapServers();
        String examples = "examples-it";
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            List<NewTopic> topics = new ArrayList<>();
            for (String t : List.of(examples, "snaps-ref", "snaps-crash", "snaps-replay", "dlq-it")) {
                topics.add(new NewTopic(t, 1, (short) 1));
            }
            admin.createTopics(topics).all().get();
        }
        produce(bootstrap, registry.url(), examples);
        Files.writeString(dir.resolve("ref.properties"), "");
        // static membership (as a StatefulSet would give): a restarted instance takes its partitions back at once
        // instead of waiting for the killed member's session to expire
        Files.writeString(dir.resolve("crash.properties"), "group.instance.id=trainer-0\n");

        long t0 = System.nanoTime();
        // the uninterrupted run
        try (JarProcess ref = JarProcess.start(args(model, bootstrap, registry.url(), dir, "ref"))) {
            ref.awaitStdout("support step " + STEPS + " loss", Duration.ofSeconds(120));
            ref.awaitStdout(" step " + STEPS + " -> ", Duration.ofSeconds(60));
            assertThat(ref.terminate(Duration.ofSeconds(60))).as(ref.stderr()).isIn(0, 143);
            assertThat(ref.stdout()).contains("Trainer stopped.").contains("dead letter");
        }

        System.out.printf("uninterrupted run: %.1fs%n", (System.nanoTime() - t0) / 1e9);
        // killed with SIGKILL right after a random step (during the snapshot, checkpoint or next step that follow)
        long seed = System.nanoTime();
        Random random = new Random(seed);
        int kills = 4;
        for (int i = 0; i < kills; i++) {
            int killAfter = 1 + i * (STEPS / kills - 1) + random.nextInt(STEPS / kills - 1);
            try (JarProcess p = JarProcess.start(args(model, bootstrap, registry.url(), dir, "crash"))) {
                p.awaitStdout("support step " + killAfter + " loss", Duration.ofSeconds(120));
                Thread.sleep(random.nextInt(40));
                p.kill();
            }
            System.out.printf("killed after step %d: %.1fs%n", killAfter, (System.nanoTime() - t0) / 1e9);
        }
        try (JarProcess p = JarProcess.start(args(model, bootstrap, registry.url(), dir, "crash"))) {
            p.awaitStdout(" step " + STEPS + " -> ", Duration.ofSeconds(120));
            assertThat(p.stdout()).as("seed %d", seed).contains("restored checkpoint");
            assertThat(p.terminate(Duration.ofSeconds(60))).as(p.stderr()).isIn(0, 143);
        }

        AdapterSnapshot refLast = last(bootstrap, registry.url(), "snaps-ref");
        AdapterSnapshot crashLast = last(bootstrap, registry.url(), "snaps-crash");
        assertThat(crashLast.getStep()).isEqualTo(STEPS);
        assertThat(refLast.getStep()).isEqualTo(STEPS);
        assertThat(weights(crashLast)).as("seed %d", seed).isEqualTo(weights(refLast));
        assertThat(crashLast.getOffsetRanges()).isEqualTo(refLast.getOffsetRanges());
        assertThat(crashLast.getExamplesSeen()).isEqualTo(refLast.getExamplesSeen()).isEqualTo(EXAMPLES);
        assertThat(crashLast.getTokensSeen()).isEqualTo(refLast.getTokensSeen());
        assertThat(committed(bootstrap, "crash")).isEqualTo(committed(bootstrap, "ref")).isEqualTo(EXAMPLES + 1);

        // retrain from the beginning: the same bytes under a new name and lineage
        List<String> retrain = new ArrayList<>(List.of("retrain", "--adapter", "support", "--as", "support-replay", "--from-beginning",
                "--snapshot-every", "1000", "--snapshots-topic", "snaps-replay", "--adapter-store", dir.resolve("store-replay").toString()));
        retrain.addAll(common(model, bootstrap, registry.url()));
        try (JarProcess p = JarProcess.start(retrain.toArray(String[]::new))) {
            assertThat(p.awaitExit(Duration.ofSeconds(120))).as(p.stderr()).isZero();
            assertThat(p.stdout()).contains("retrained support-replay: " + STEPS + " steps on " + EXAMPLES + " examples");
        }
        AdapterSnapshot replay = last(bootstrap, registry.url(), "snaps-replay");
        assertThat(replay.getAdapterName()).isEqualTo("support-replay");
        assertThat(replay.getStep()).isEqualTo(STEPS);
        assertThat(weights(replay)).isEqualTo(weights(refLast));
        assertThat(replay.getOffsetRanges()).isEqualTo(refLast.getOffsetRanges());
    }

    static List<String> common(Path model, String bootstrap, String registry) {
        return List.of("--model", model.toString(), "--r", "4", "--lora-alpha", "8", "--lora-dropout", "0.1", "--batch-size", "2",
                "--max-seq-len", "64", "--lr", "2e-3", "--warmup-steps", "3", "--threads", "1", "--examples-topic", "examples-it",
                "--bootstrap-servers", bootstrap, "--schema-registry-url", registry);
    }

    static String[] args(Path model, String bootstrap, String registry, Path dir, String run) {
        List<String> a = new ArrayList<>(List.of("trainer", "--config", dir.resolve(run + ".properties").toString(), "--group", "group-" + run, "--checkpoint-dir", dir.resolve("ckpt-" + run).toString(),
                "--adapter-store", dir.resolve("store-" + run).toString(), "--snapshots-topic", "snaps-" + run, "--dlq-topic", "dlq-it",
                "--snapshot-every", "5", "--checkpoint-every", "3", "--status-interval", "0"));
        a.addAll(common(model, bootstrap, registry));
        return a.toArray(String[]::new);
    }

    static void produce(String bootstrap, String registry, String topic) throws Exception {
        AvroSerializer<TrainingExample> avro = new AvroSerializer<>();
        avro.configure(Map.of("schema.registry.url", registry), false);
        String[] words = {"billing", "login", "refund", "invoice", "password", "upgrade", "export"};
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Map.of("bootstrap.servers", bootstrap), new ByteArraySerializer(), new ByteArraySerializer())) {
            byte[] key = "support".getBytes(StandardCharsets.UTF_8);
            for (int i = 0; i < EXAMPLES; i++) {
                if (i == 17) {
                    p.send(new ProducerRecord<>(topic, key, new byte[]{0, 0, 0, 0, 9, 9})); // poison: unknown schema id
                }
                String w = words[i % words.length];
                TrainingExample e = TrainingExample.newBuilder().setExampleId("ex-" + i).setAdapterName("support")
                        .setSourceKind(SourceKind.SUPPORT_TICKET).setSourceId("t-" + i)
                        .setSource(SourceCoordinates.newBuilder().setTopic("support-tickets").setPartition(0).setOffset(i).build())
                        .setPrompt("Ticket " + i + ": the " + w + " page fails")
                        .setResponse("We fixed the " + w + " page for ticket " + i + ".")
                        .setSplit(Split.TRAIN).setCreatedAt(Instant.ofEpochMilli(1_767_225_600_000L + i)).build();
                p.send(new ProducerRecord<>(topic, key, avro.serialize(topic, e)));
            }
            p.flush();
        }
    }

    static AdapterSnapshot last(String bootstrap, String registry, String topic) {
        AvroDeserializer<AdapterSnapshot> d = new AvroDeserializer<AdapterSnapshot>()
                .configured(Map.of("schema.registry.url", registry, "specific.avro.reader", true), false);
        AdapterSnapshot last = null;
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(Map.of("bootstrap.servers", bootstrap),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long end = c.endOffsets(List.of(tp)).get(tp);
            while (c.position(tp) < end) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    AdapterSnapshot s = d.deserialize(topic, r.value());
                    if (last == null || s.getStep() >= last.getStep()) last = s;
                }
            }
        }
        assertThat(last).as("a snapshot on " + topic).isNotNull();
        return last;
    }

    static byte[] weights(AdapterSnapshot s) throws Exception {
        return Files.readAllBytes(Path.of(URI.create(s.getArtifactUri())).resolve("adapter_model.safetensors"));
    }

    static long committed(String bootstrap, String run) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            Map<TopicPartition, OffsetAndMetadata> m = admin.listConsumerGroupOffsets("group-" + run).partitionsToOffsetAndMetadata().get();
            return m.get(new TopicPartition("examples-it", 0)).offset();
        }
    }
}
