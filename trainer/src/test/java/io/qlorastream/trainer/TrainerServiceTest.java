package io.qlorastream.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.broker.junit.EmbeddedKafkaExtension;
import io.qlorastream.engine.model.ModelFingerprint;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.events.OffsetRange;
import io.qlorastream.schemas.junit.EmbeddedSchemaRegistryExtension;
import io.qlorastream.schemas.registry.server.EmbeddedSchemaRegistry;
import io.qlorastream.store.AdapterStore;
import io.qlorastream.store.InProcessS3;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import javax.management.ObjectName;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.stream.Collectors;

import static io.qlorastream.trainer.TrainerFixtures.*;
import static org.assertj.core.api.Assertions.assertThat;

/** The live trainer and retrain on a real embedded broker and registry, with a tiny make-model model. */
@ExtendWith({EmbeddedKafkaExtension.class, EmbeddedSchemaRegistryExtension.class})
class TrainerServiceTest {
    @TempDir
    static Path shared;
    static Path model;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void model() throws Exception {
        model = tinyModel(shared.resolve("tiny"));
    }

    record Topics(String examples, String snapshots, String dlq) {
        static Topics create(Properties client, int partitions) throws Exception {
            String run = UUID.randomUUID().toString().substring(0, 8);
            Topics t = new Topics("examples-" + run, "snapshots-" + run, "dlq-" + run);
            createTopic(client, t.examples, partitions);
            createTopic(client, t.snapshots, 1);
            createTopic(client, t.dlq, 1);
            return t;
        }
    }

    static TrainerConfig config(Topics t, String group, Path checkpoints, int snapshotEvery) {
        return new TrainerConfig(t.examples, t.snapshots, t.dlq, group, checkpoints, 3, snapshotEvery, null, Duration.ofSeconds(60));
    }

    /** A service on its own thread, its console captured. */
    static final class Running implements AutoCloseable {
        final TrainingCore core;
        final TrainerService service;
        final Thread thread;
        final ByteArrayOutputStream console = new ByteArrayOutputStream();

        Running(TrainerConfig config, Properties client, AdapterStore store) throws Exception {
            this(config, client, store, TrainerService.StepListener.NONE);
        }

        Running(TrainerConfig config, Properties client, AdapterStore store, TrainerService.StepListener listener) throws Exception {
            core = core(model);
            service = new TrainerService(core, config, client, store, new PrintStream(console, true, StandardCharsets.UTF_8))
                    .stepListener(listener);
            thread = new Thread(service, "trainer-" + config.groupId());
            thread.start();
        }

        String console() {
            return console.toString(StandardCharsets.UTF_8);
        }

        @Override
        public void close() throws Exception {
            service.requestStop();
            thread.join(60_000);
            assertThat(thread.isAlive()).isFalse();
            core.close();
        }
    }

    @Test
    void snapshotsAgreeWithTheirFilesPoisonGoesToTheDlqAndRetrainReproducesTheAdapter(EmbeddedKafkaBroker broker,
                                                                                        EmbeddedSchemaRegistry registry,
                                                                                        @TempDir Path dir) throws Exception {
        Properties client = client(broker.bootstrapServers(), registry.url());
        Topics t = Topics.create(client, 1);
        List<Object> values = new ArrayList<>();
        for (int i = 0; i < 4; i++) values.add(example("support", i));
        values.add("not avro at all".getBytes(StandardCharsets.UTF_8)); // offset 4: not decodable
        for (int i = 4; i < 8; i++) values.add(example("support", i));
        var blank = example("support", 99);
        blank.setResponse("  ");
        values.add(blank); // offset 9: nothing to learn
        for (int i = 8; i < 12; i++) values.add(example("support", i));
        values.add(example("support", 12)); // offset 14: waits for a partner, trained by nobody yet
        produce(client, t.examples, 0, "support", values);

        AdapterStore store = AdapterStore.open(dir.resolve("store").toString());
        String group = "trainer-" + UUID.randomUUID();
        int perStep = spec().examplesPerStep(); // 4
        List<AdapterSnapshot> events;
        SimpleMeterRegistry meters = new SimpleMeterRegistry(); // what --metrics-port would scrape
        Metrics.addRegistry(meters);
        try (Running r = new Running(config(t, group, dir.resolve("ckpt"), 1), client, store)) {
            waitUntil(() -> snapshots(client, t.snapshots).size() >= 3, Duration.ofSeconds(60), "3 snapshots; " + r.console());
            events = snapshots(client, t.snapshots);
            ObjectName adapterBean = ManagementFactory.getPlatformMBeanServer()
                    .queryNames(new ObjectName("io.qlorastream:type=TrainerAdapter,instance=" + r.service.metrics().instance() + ",*"), null)
                    .iterator().next();
            waitUntil(() -> jmx(adapterBean, "PendingExamples").equals(1L), Duration.ofSeconds(10), "JMX pending 1");
            assertThat(jmx(adapterBean, "Step")).isEqualTo(3L);
            assertThat(jmx(adapterBean, "ExamplesSeen")).isEqualTo(12L);
            ObjectName serviceBean = new ObjectName("io.qlorastream:type=Trainer,instance=" + r.service.metrics().instance());
            assertThat(jmx(serviceBean, "DeadLetters")).isEqualTo(2L);

            // the same figures on Micrometer, tagged by lane, plus durations and the Kafka clients' own metrics
            String instance = r.service.metrics().instance().replace("\"", "");
            assertThat(meters.get("qlora.trainer.steps").tag("instance", instance).functionCounter().count()).isEqualTo(3);
            assertThat(meters.get("qlora.trainer.dead.letters").tag("instance", instance).functionCounter().count()).isEqualTo(2);
            assertThat(meters.get("qlora.trainer.step").tags("adapter", "support", "partition", "0").gauge().value()).isEqualTo(3);
            assertThat(meters.get("qlora.trainer.examples.seen").tags("adapter", "support").functionCounter().count()).isEqualTo(12);
            assertThat(meters.get("qlora.trainer.loss").tags("adapter", "support").gauge().value()).isFinite().isPositive();
            assertThat(meters.get("qlora.trainer.pending.examples").tags("adapter", "support").gauge().value()).isEqualTo(1);
            assertThat(meters.get("qlora.trainer.snapshot.duration").tags("adapter", "support").timer().count()).isEqualTo(3);
            assertThat(meters.get("qlora.trainer.checkpoint.duration").tag("instance", instance).timer().count()).isPositive();
            assertThat(meters.find("kafka.consumer.fetch.manager.records.consumed.total").tag("instance", instance).functionCounters())
                    .as("the consumer's own metrics").isNotEmpty();
        } finally {
            Metrics.removeRegistry(meters);
        }
        assertThat(meters.find("qlora.trainer.steps").meters()).as("an instance's meters leave with it").isEmpty();

        // the events agree with the files they name
        assertThat(events).extracting(AdapterSnapshot::getStep).containsExactly(1L, 2L, 3L);
        String lineage = events.get(0).getLineageId();
        long[] lastOffsetOfStep = {3, 8, 13};
        String modelHash = ModelFingerprint.sha256(model);
        for (AdapterSnapshot e : events) {
            assertThat(e.getAdapterName()).isEqualTo("support");
            assertThat(e.getLineageId()).isEqualTo(lineage);
            assertThat(e.getExamplesSeen()).isEqualTo(e.getStep() * perStep);
            assertThat(e.getTokensSeen()).isPositive();
            assertThat(e.getTrainingLoss()).isFinite().isPositive();
            assertThat(e.getBaseModelName()).isEqualTo("tiny");
            assertThat(e.getBaseModelHash()).isEqualTo(modelHash);
            assertThat(e.getLoraConfig().getR()).isEqualTo(4);
            assertThat(e.getOffsetRanges()).containsExactly(OffsetRange.newBuilder().setTopic(t.examples).setPartition(0)
                    .setFromOffset(0).setToOffset(lastOffsetOfStep[(int) e.getStep() - 1] + 1).build());
            Path files = Path.of(java.net.URI.create(e.getArtifactUri()));
            assertThat(files).isEqualTo(dir.resolve("store").resolve("support/snapshots/" + e.getSnapshotId()));
            assertThat(e.getArtifactSha256().keySet()).containsExactlyInAnyOrder("adapter_config.json", "adapter_model.safetensors", "manifest.json");
            for (Map.Entry<String, String> f : e.getArtifactSha256().entrySet()) {
                assertThat(sha256(files.resolve(f.getKey()))).as(f.getKey()).isEqualTo(f.getValue());
            }
            JsonNode manifest = JSON.readTree(files.resolve("manifest.json").toFile()).get("files");
            assertThat(manifest.get("adapter_model.safetensors").asText()).isEqualTo(e.getArtifactSha256().get("adapter_model.safetensors"));
        }

        assertThat(events.stream().map(e -> e.getArtifactSha256().get("adapter_model.safetensors")).distinct()).as("the adapter learns").hasSize(3);

        // poison records: original bytes on the DLQ with the reason, and training went on past them
        List<ConsumerRecord<byte[], byte[]>> dead = readAll(client, t.dlq);
        assertThat(dead).hasSize(2);
        assertThat(dead.stream().map(d -> header(d, TrainerService.HEADER_REASON)).toList()).containsExactly("not-decodable", "empty-response");
        assertThat(dead.stream().map(d -> header(d, TrainerService.HEADER_OFFSET)).toList()).containsExactly("4", "9");
        assertThat(dead.get(0).value()).isEqualTo("not avro at all".getBytes(StandardCharsets.UTF_8));
        assertThat(new String(dead.get(0).key(), StandardCharsets.UTF_8)).isEqualTo("support");

        // offsets were committed after the final checkpoint: the untrained example is in the checkpoint, not re-read
        assertThat(committed(client, group, t.examples, 0)).isEqualTo(15);

        // retrain from the beginning: the same adapters, bit for bit, under a new lineage
        try (TrainingCore core = core(model)) {
            Retrain.Result rr = Retrain.run(core, t.examples, t.snapshots, "support", "support-replay", Retrain.Range.fromBeginning(),
                    1, client, store, dir.resolve("scratch"), new PrintStream(new ByteArrayOutputStream()));
            assertThat(rr.steps()).isEqualTo(3);
            assertThat(rr.untrained()).isEqualTo(1);
            assertThat(rr.skipped()).isEqualTo(2);
            for (int i = 0; i < 3; i++) {
                AdapterSnapshot replay = rr.snapshots().get(i);
                assertThat(replay.getAdapterName()).isEqualTo("support-replay");
                assertThat(replay.getLineageId()).isNotEqualTo(lineage);
                assertThat(replay.getStep()).isEqualTo(events.get(i).getStep());
                assertThat(replay.getOffsetRanges()).isEqualTo(events.get(i).getOffsetRanges());
                assertThat(replay.getArtifactSha256().get("adapter_model.safetensors"))
                        .isEqualTo(events.get(i).getArtifactSha256().get("adapter_model.safetensors"));
            }
        }
    }

    @Test
    void twoTrainersInOneGroupShareTheAdaptersAndOneTakesOverWhenTheOtherStops(EmbeddedKafkaBroker broker,
                                                                             EmbeddedSchemaRegistry registry,
                                                                             @TempDir Path dir) throws Exception {
        Properties client = client(broker.bootstrapServers(), registry.url());
        Topics t = Topics.create(client, 2);
        AdapterStore store = AdapterStore.open(dir.resolve("store").toString());
        TrainerConfig config = config(t, "trainer-" + UUID.randomUUID(), dir.resolve("ckpt"), 2);
        int batch = spec().examplesPerStep();
        int[] produced = {0};
        Runnable round = () -> {
            try {
                List<Object> a = new ArrayList<>(), b = new ArrayList<>();
                for (int i = 0; i < 2 * batch; i++) {
                    a.add(example("alpha", produced[0] + i));
                    b.add(example("beta", produced[0] + i));
                }
                produce(client, t.examples, 0, "alpha", a);
                produce(client, t.examples, 1, "beta", b);
                produced[0] += 2 * batch;
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        };
        Running first = new Running(config, client, store);
        Running second = null;
        try {
            round.run();
            waitUntil(() -> maxStep(client, t, "alpha") >= 2 && maxStep(client, t, "beta") >= 2, Duration.ofSeconds(60), "first round");
            second = new Running(config, client, store);
            Running s = second;
            waitUntil(() -> first.service.metrics().assigned == 1 && s.service.metrics().assigned == 1, Duration.ofSeconds(60), "a partition each");
            round.run();
            waitUntil(() -> maxStep(client, t, "alpha") >= 4 && maxStep(client, t, "beta") >= 4, Duration.ofSeconds(60), "second round");
            assertThat(first.service.metrics().steps.get()).isPositive();
            assertThat(second.service.metrics().steps.get()).as("the second trainer trained its share").isPositive();
            first.close();
            waitUntil(() -> s.service.metrics().assigned == 2, Duration.ofSeconds(60), "take-over");
            round.run();
            waitUntil(() -> maxStep(client, t, "alpha") >= 6 && maxStep(client, t, "beta") >= 6, Duration.ofSeconds(60), "third round");
            assertThat(second.console()).contains("restored checkpoint");
        } finally {
            first.service.requestStop();
            if (second != null) second.close();
            first.thread.join(60_000);
            first.core.close();
        }
        List<AdapterSnapshot> events = snapshots(client, t.snapshots);
        try (TrainingCore core = core(model)) {
            for (String adapter : List.of("alpha", "beta")) {
                List<AdapterSnapshot> mine = events.stream().filter(e -> e.getAdapterName().equals(adapter)).toList();
                // one lineage through both processes, every step snapshotted once or (after a crash) identically again
                assertThat(mine.stream().map(AdapterSnapshot::getLineageId).collect(Collectors.toSet())).hasSize(1);
                assertThat(mine.stream().map(AdapterSnapshot::getStep).distinct().toList()).containsExactly(2L, 4L, 6L);
                AdapterSnapshot last = mine.get(mine.size() - 1);
                assertThat(last.getExamplesSeen()).isEqualTo(6L * batch);
                Retrain.Result rr = Retrain.run(core, t.examples, t.snapshots, adapter, adapter + "-replay", Retrain.Range.fromBeginning(),
                        100, client, store, dir.resolve("scratch"), new PrintStream(new ByteArrayOutputStream()));
                AdapterSnapshot replay = rr.snapshots().get(rr.snapshots().size() - 1);
                assertThat(replay.getStep()).isEqualTo(6);
                assertThat(replay.getArtifactSha256().get("adapter_model.safetensors"))
                        .as("no example lost or repeated across the take-over").isEqualTo(last.getArtifactSha256().get("adapter_model.safetensors"));
            }
        }
    }

    static String sha256(Path file) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    @Test
    void maxWaitTrainsAPartialBatchOnAQuietStream(EmbeddedKafkaBroker broker, EmbeddedSchemaRegistry registry,
                                                 @TempDir Path dir) throws Exception {
        Properties client = client(broker.bootstrapServers(), registry.url());
        Topics t = Topics.create(client, 1);
        produce(client, t.examples, 0, "quiet", List.of(example("quiet", 0), example("quiet", 1), example("quiet", 2)));
        TrainerConfig config = new TrainerConfig(t.examples, t.snapshots, t.dlq, "trainer-" + UUID.randomUUID(), dir.resolve("ckpt"),
                3, 1, Duration.ofMillis(500), Duration.ofSeconds(60));
        try (Running r = new Running(config, client, AdapterStore.open(dir.resolve("store").toString()))) {
            waitUntil(() -> !snapshots(client, t.snapshots).isEmpty(), Duration.ofSeconds(60), "a snapshot; " + r.console());
        }
        AdapterSnapshot s = snapshots(client, t.snapshots).get(0);
        assertThat(spec().examplesPerStep()).isGreaterThan(3);
        assertThat(s.getStep()).isEqualTo(1);
        assertThat(s.getExamplesSeen()).isEqualTo(3);
        assertThat(s.getOffsetRanges().get(0).getToOffset()).isEqualTo(3);
    }

    @Test
    void snapshotsGoToAnS3StoreAndFetchBackVerifiedOnAnotherMachinesView(EmbeddedKafkaBroker broker,
                                                                         EmbeddedSchemaRegistry registry,
                                                                         @TempDir Path dir) throws Exception {
        Properties client = client(broker.bootstrapServers(), registry.url());
        Topics t = Topics.create(client, 1);
        int perStep = spec().examplesPerStep();
        List<Object> values = new ArrayList<>();
        for (int i = 0; i < 2 * perStep; i++) values.add(example("support", i));
        produce(client, t.examples, 0, "support", values);

        try (InProcessS3 s3 = InProcessS3.start("adapters")) {
            String location = s3.location("team-a/adapters");
            List<AdapterSnapshot> events;
            try (AdapterStore store = AdapterStore.open(location, s3.settings());
                 Running r = new Running(config(t, "trainer-" + UUID.randomUUID(), dir.resolve("ckpt"), 1), client, store)) {
                waitUntil(() -> snapshots(client, t.snapshots).size() >= 2, Duration.ofSeconds(60), "2 snapshots; " + r.console());
                events = snapshots(client, t.snapshots);
            }
            assertThat(events).extracting(AdapterSnapshot::getStep).containsExactly(1L, 2L);
            for (AdapterSnapshot e : events) {
                assertThat(e.getArtifactUri()).isEqualTo(location + "/support/snapshots/" + e.getSnapshotId());
                // What the evaluator does on another machine: a fresh client of the same bucket, checking every
                // file against the SHA-256 the event carries.
                Path fetched = dir.resolve("fetched-" + e.getStep());
                try (AdapterStore reader = AdapterStore.open(location, s3.settings())) {
                    reader.fetch(java.net.URI.create(e.getArtifactUri()), e.getArtifactSha256(), fetched);
                }
                for (Map.Entry<String, String> f : e.getArtifactSha256().entrySet()) {
                    assertThat(sha256(fetched.resolve(f.getKey()))).as(f.getKey()).isEqualTo(f.getValue());
                }
            }
            // the objects are in the bucket, under the prefix, and nowhere on the trainer's local disk but checkpoints
            try (var stored = Files.walk(s3.blobDirectory())) {
                assertThat(stored.filter(p -> p.getFileName().toString().equals("adapter_model.safetensors")).count()).isEqualTo(2);
            }
            assertThat(events.get(0).getArtifactSha256().get("adapter_model.safetensors"))
                    .isNotEqualTo(events.get(1).getArtifactSha256().get("adapter_model.safetensors"));
        }
    }

    @Test
    void theStepListenerHearsEveryStepAndSnapshotAsTheyHappen(EmbeddedKafkaBroker broker, EmbeddedSchemaRegistry registry,
                                                            @TempDir Path dir) throws Exception {
        Properties client = client(broker.bootstrapServers(), registry.url());
        Topics t = Topics.create(client, 1);
        int perStep = spec().examplesPerStep();
        List<Object> examples = new ArrayList<>();
        for (int i = 0; i < 2 * perStep; i++) {
            examples.add(example("heard", i));
        }
        produce(client, t.examples, 0, "heard", examples);
        List<String> heard = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        TrainerService.StepListener listener = new TrainerService.StepListener() {
            @Override
            public void onStep(String adapter, int partition, long step, double loss, double tokensPerSecond) {
                heard.add("step " + adapter + " p" + partition + " " + step + " " + Double.isFinite(loss) + " " + (tokensPerSecond > 0));
            }

            @Override
            public void onSnapshot(AdapterSnapshot snapshot) {
                heard.add("snapshot " + snapshot.getAdapterName() + " " + snapshot.getStep() + " " + snapshot.getSnapshotId());
            }
        };
        try (Running r = new Running(config(t, "trainer-" + UUID.randomUUID(), dir.resolve("ckpt"), 2), client,
                AdapterStore.open(dir.resolve("store").toString()), listener)) {
            waitUntil(() -> heard.size() >= 3, Duration.ofSeconds(60), "two steps and a snapshot; " + r.console());
        }
        AdapterSnapshot published = snapshots(client, t.snapshots).get(0);
        assertThat(heard).containsExactly("step heard p0 1 true true", "step heard p0 2 true true",
                "snapshot heard 2 " + published.getSnapshotId());
    }

    static long maxStep(Properties client, Topics t, String adapter) {
        return snapshots(client, t.snapshots).stream().filter(e -> e.getAdapterName().equals(adapter))
                .mapToLong(AdapterSnapshot::getStep).max().orElse(0);
    }

    static Object jmx(ObjectName name, String attribute) {
        try {
            return ManagementFactory.getPlatformMBeanServer().getAttribute(name, attribute);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static String header(ConsumerRecord<byte[], byte[]> r, String key) {
        return new String(r.headers().lastHeader(key).value(), StandardCharsets.UTF_8);
    }

    static long committed(Properties client, String group, String topic, int partition) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", client.getProperty("bootstrap.servers")))) {
            Map<TopicPartition, OffsetAndMetadata> m = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
            return m.get(new TopicPartition(topic, partition)).offset();
        }
    }
}
