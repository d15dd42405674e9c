package io.qlorastream.trainer;

import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.model.ModelMaker;
import io.qlorastream.engine.model.ModelShape;
import io.qlorastream.engine.optim.AdamW;
import io.qlorastream.engine.optim.LrSchedule;
import io.qlorastream.engine.tensor.DType;
import io.qlorastream.engine.tokenizer.ByteLevelBpeWriter;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.events.SourceCoordinates;
import io.qlorastream.events.SourceKind;
import io.qlorastream.events.Split;
import io.qlorastream.events.TrainingExample;
import io.qlorastream.schemas.serde.AvroDeserializer;
import io.qlorastream.schemas.serde.AvroSerializer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.BooleanSupplier;

/** A tiny make-model model, the engine settings of the tests, and Kafka helpers. */
final class TrainerFixtures {
    private TrainerFixtures() {
    }

    static Path tinyModel(Path dir) throws Exception {
        ModelShape shape = ModelShape.preset("tiny");
        ByteLevelBpeWriter.write(dir, shape.vocabSize());
        ModelMaker.write(dir, shape, 3, DType.F32);
        return dir;
    }

    /** Dropout on, accumulation on: every part of the state must survive checkpoints for bit identity. */
    static TrainingSpec spec() {
        return new TrainingSpec(new LoraConfig(4, 8, 0.1, LoraConfig.ALL_TARGETS, false), 42, 2, 2, 64,
                LrSchedule.Kind.CONSTANT, 2e-3, 2, 0.03, 0, AdamW.Config.qlora(), 0.3, true);
    }

    static TrainingCore core(Path model) throws Exception {
        return new TrainingCore(model, "tiny", spec(), () -> new CpuBackend(1));
    }

    static Properties client(String bootstrap, String registry) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("schema.registry.url", registry);
        return p;
    }

    static void createTopic(Properties client, String topic, int partitions) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", client.getProperty("bootstrap.servers")))) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
        }
    }

    static TrainingExample example(String adapter, int i) {
        String[] topics = {"billing", "login", "refund", "invoice", "password", "upgrade"};
        String t = topics[i % topics.length];
        return TrainingExample.newBuilder().setExampleId(adapter + "-" + i).setAdapterName(adapter)
                .setSourceKind(SourceKind.OTHER).setSourceId(null)
                .setSource(SourceCoordinates.newBuilder().setTopic("src").setPartition(0).setOffset(i).build())
                .setPrompt("Ticket " + i + ": my " + t + " does not work")
                .setResponse("Sorry about your " + t + ". Case " + i + " is open.")
                .setSplit(Split.TRAIN).setCreatedAt(Instant.ofEpochMilli(1_767_225_600_000L + i)).build();
    }

    /** Sends values (a TrainingExample, or raw bytes for a poison record) to one partition, keyed by adapter. */
    static void produce(Properties client, String topic, int partition, String key, List<?> values) throws Exception {
        AvroSerializer<TrainingExample> avro = new AvroSerializer<>();
        avro.configure(Map.of("schema.registry.url", client.getProperty("schema.registry.url")), false);
        Properties p = new Properties();
        p.put("bootstrap.servers", client.getProperty("bootstrap.servers"));
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (Object v : values) {
                byte[] bytes = v instanceof TrainingExample e ? avro.serialize(topic, e) : (byte[]) v;
                producer.send(new ProducerRecord<>(topic, partition, key.getBytes(StandardCharsets.UTF_8), bytes)).get();
            }
        }
    }

    static List<ConsumerRecord<byte[], byte[]>> readAll(Properties client, String topic) {
        Properties p = new Properties();
        p.put("bootstrap.servers", client.getProperty("bootstrap.servers"));
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> tps = c.partitionsFor(topic).stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps);
            while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                c.poll(Duration.ofMillis(100)).forEach(out::add);
            }
        }
        return out;
    }

    static List<AdapterSnapshot> snapshots(Properties client, String topic) {
        AvroDeserializer<AdapterSnapshot> d = new AvroDeserializer<AdapterSnapshot>()
                .configured(Map.of("schema.registry.url", client.getProperty("schema.registry.url"), "specific.avro.reader", true), false);
        List<AdapterSnapshot> out = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : readAll(client, topic)) {
            out.add(d.deserialize(topic, r.value()));
        }
        return out;
    }

    static void waitUntil(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(100);
        }
    }
}
