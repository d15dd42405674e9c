package io.qlorastream.evaluator;

import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.broker.junit.EmbeddedKafkaExtension;
import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.events.LoraConfig;
import io.qlorastream.events.ReleaseKind;
import io.qlorastream.events.SourceCoordinates;
import io.qlorastream.events.SourceKind;
import io.qlorastream.events.Split;
import io.qlorastream.events.TrainingExample;
import io.qlorastream.schemas.junit.EmbeddedSchemaRegistryExtension;
import io.qlorastream.schemas.registry.server.EmbeddedSchemaRegistry;
import io.qlorastream.schemas.serde.AvroDeserializer;
import io.qlorastream.schemas.serde.AvroSerdeConfig;
import io.qlorastream.schemas.serde.AvroSerializer;
import io.qlorastream.store.AdapterStore;
import io.qlorastream.store.StoredArtifact;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/** The service against a real broker and registry: verdicts, release comparison, exactly once across crash and restart. */
@ExtendWith({EmbeddedKafkaExtension.class, EmbeddedSchemaRegistryExtension.class})
class EvaluatorServiceTest {
    static final String ADAPTER = "support";
    @TempDir
    static Path dir;
    static TinyWorld world;
    static SnapshotEvaluator evaluator;
    static Path good;

    @BeforeAll
    static void setUp() throws Exception {
        world = new TinyWorld(dir);
        evaluator = new SnapshotEvaluator(world.base, Sha256.baseModel(world.modelDir),
                SnapshotEvaluator.Settings.defaults());
        good = dir.resolve("trained");
        world.train(TinyWorld.support(0, 48), 60, 3e-3, good);
    }

    @AfterAll
    static void tearDown() {
        world.close();
    }

    /** A simulated kill -9 between the verdict's send and the transaction's commit: nothing is aborted or closed cleanly. */
    static final class SimulatedCrash extends Error {
        SimulatedCrash() {
            super("simulated crash before commit");
        }
    }

    final class Harness {
        final EmbeddedKafkaBroker broker;
        final String registryUrl;
        final String prefix;
        final EvaluatorConfig config;
        final Path store;
        final AdapterStore adapterStore;

        Harness(EmbeddedKafkaBroker broker, EmbeddedSchemaRegistry registry, String prefix) throws Exception {
            this.broker = broker;
            this.registryUrl = registry.url();
            this.prefix = prefix;
            this.store = dir.resolve(prefix + "-store");
            this.adapterStore = AdapterStore.open(store.toString());
            this.config = EvaluatorConfig.defaults(dir.resolve(prefix + "-work"))
                    .withTopics(prefix + "-snapshots", prefix + "-eval", prefix + "-releases", prefix + "-evaluations")
                    .withGroup(prefix + "-group", prefix + "-tx");
            try (Admin admin = Admin.create(broker.clientProperties())) {
                List<NewTopic> topics = new ArrayList<>();
                for (String t : List.of(config.snapshotsTopic(), config.evalExamplesTopic(), config.releasesTopic(), config.evaluationsTopic())) {
                    topics.add(new NewTopic(t, 1, (short) 1));
                }
                admin.createTopics(topics).all().get(30, TimeUnit.SECONDS);
            }
        }

        Properties client() {
            Properties p = broker.clientProperties();
            p.put(AvroSerdeConfig.SCHEMA_REGISTRY_URL, registryUrl);
            return p;
        }

        <V extends SpecificRecord> void produce(String topic, String key, List<V> values) {
            Properties p = client();
            p.put(ProducerConfig.ACKS_CONFIG, "all");
            AvroSerializer<V> ser = new AvroSerializer<>();
            ser.configure(Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, registryUrl), false);
            try (KafkaProducer<String, V> producer = new KafkaProducer<>(p, new StringSerializer(), ser)) {
                for (V v : values) {
                    producer.send(new ProducerRecord<>(topic, key, v));
                }
                producer.flush();
            }
        }

        void evalExamples(List<HeldOutExample> examples) {
            List<TrainingExample> events = new ArrayList<>();
            long offset = 0;
            for (HeldOutExample e : examples) {
                events.add(TrainingExample.newBuilder().setExampleId(e.exampleId()).setAdapterName(ADAPTER)
                        .setSourceKind(SourceKind.SUPPORT_TICKET).setSourceId(e.exampleId())
                        .setSource(new SourceCoordinates("support-tickets", 0, offset++))
                        .setPrompt(e.prompt()).setResponse(e.response()).setRedactions(Map.of())
                        .setSplit(Split.EVAL).setCreatedAt(Instant.now()).build());
            }
            produce(config.evalExamplesTopic(), ADAPTER, events);
        }

        /** Puts the adapter's files under {@code <adapter>/snapshots/<id>/} through the AdapterStore API; returns the event for it. */
        AdapterSnapshot snapshot(String id, Path adapterDir) throws IOException {
            Path staging = dir.resolve(prefix + "-staging-" + id);
            Files.createDirectories(staging);
            for (String f : ArtifactVerifier.LOADED_FILES) {
                Files.copy(adapterDir.resolve(f), staging.resolve(f));
            }
            StoredArtifact a = adapterStore.put(ADAPTER + "/snapshots/" + id, staging);
            return AdapterSnapshot.newBuilder().setAdapterName(ADAPTER).setSnapshotId(id).setLineageId("lineage-1").setStep(60)
                    .setExamplesSeen(48).setTokensSeen(1000).setTrainingLoss(4.2).setBaseModelName("tiny")
                    .setBaseModelHash(Sha256.baseModel(world.modelDir))
                    .setLoraConfig(new LoraConfig(8, 16.0, 0.0, false, List.of("q_proj")))
                    .setArtifactUri(a.uri().toString()).setArtifactSha256(a.sha256()).setOffsetRanges(List.of())
                    .setCreatedAt(Instant.now()).build();
        }

        /** Copies the snapshot to {@code <adapter>/releases/v<N>/} in the store, as the publisher does, and returns its event. */
        AdapterRelease release(int version, AdapterSnapshot snapshot) throws IOException {
            StoredArtifact r = adapterStore.copy(java.net.URI.create(snapshot.getArtifactUri()), snapshot.getArtifactSha256(),
                    ADAPTER + "/releases/v" + version);
            AdapterSnapshot s = AdapterSnapshot.newBuilder(snapshot).setArtifactUri(r.uri().toString()).setArtifactSha256(r.sha256()).build();
            return AdapterRelease.newBuilder().setAdapterName(ADAPTER).setVersion(version).setKind(ReleaseKind.RELEASE)
                    .setSnapshotId(s.getSnapshotId()).setEvaluationId("e").setArtifactUri(s.getArtifactUri())
                    .setArtifactSha256(s.getArtifactSha256()).setSignature("unsigned-in-this-test").setPublicKeyId("k")
                    .setPublicKey("k").setBaseModelName("tiny").setBaseModelHash(s.getBaseModelHash())
                    .setLoraConfig(s.getLoraConfig()).setMetrics(Map.of()).setReleasedAt(Instant.now()).build();
        }

        List<ConsumerRecord<String, AdapterEvaluation>> verdicts(String isolation, int atLeast, Duration timeout) {
            Properties p = client();
            p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
            AvroDeserializer<AdapterEvaluation> d = new AvroDeserializer<AdapterEvaluation>()
                    .configured(Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, registryUrl, AvroSerdeConfig.SPECIFIC_AVRO_READER, true), false);
            List<ConsumerRecord<String, AdapterEvaluation>> out = new ArrayList<>();
            try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
                TopicPartition tp = new TopicPartition(config.evaluationsTopic(), 0);
                c.assign(List.of(tp));
                c.seekToBeginning(List.of(tp));
                long deadline = System.nanoTime() + timeout.toNanos();
                while (System.nanoTime() < deadline) {
                    for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                        out.add(new ConsumerRecord<>(r.topic(), r.partition(), r.offset(), r.key(), d.deserialize(r)));
                    }
                    if (out.size() >= atLeast && c.position(tp) >= c.endOffsets(List.of(tp)).get(tp)) {
                        break;
                    }
                }
            }
            return out;
        }

        List<AdapterEvaluation> committed(int atLeast) {
            return verdicts("read_committed", atLeast, Duration.ofSeconds(60)).stream().map(ConsumerRecord::value).toList();
        }

        Running start(EvaluatorService.BeforeCommit hook) {
            Running r = new Running();
            r.service = new EvaluatorService(config, client(), evaluator, new StoreArtifactFetcher(adapterStore), r);
            if (hook != null) {
                r.service.beforeCommit(hook);
            }
            r.thread = new Thread(() -> {
                try {
                    r.service.run();
                } catch (Throwable t) {
                    r.failure.set(t);
                }
            }, prefix + "-evaluator");
            r.thread.start();
            return r;
        }
    }

    static final class Running implements EvaluatorService.Listener {
        EvaluatorService service;
        Thread thread;
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final List<AdapterEvaluation> emitted = new CopyOnWriteArrayList<>();
        final List<String> skipped = new CopyOnWriteArrayList<>();
        final List<String> progress = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void onEvaluation(AdapterEvaluation evaluation) {
            emitted.add(evaluation);
        }

        @Override
        public void onSkipped(String adapter, String snapshotId, String why) {
            skipped.add(snapshotId + ": " + why);
        }

        @Override
        public void onProgress(String adapter, String snapshotId, String stage, int done, int total) {
            progress.add(snapshotId + " " + stage + " " + done + "/" + total);
        }

        void stop() throws InterruptedException {
            service.close();
            thread.join(30_000);
            assertThat(thread.isAlive()).isFalse();
        }

        void awaitEmitted(int n) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (emitted.size() < n && failure.get() == null && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(failure.get()).isNull();
            assertThat(emitted).hasSizeGreaterThanOrEqualTo(n);
        }
    }

    @Test
    void aCrashBeforeCommitAndARestartLeaveExactlyOneVerdictPerSnapshot(EmbeddedKafkaBroker broker, EmbeddedSchemaRegistry registry)
            throws Exception {
        Harness h = new Harness(broker, registry, "once");
        h.evalExamples(TinyWorld.support(1000, 24));
        AdapterSnapshot s1 = h.snapshot("s-1", good);
        h.produce(h.config.snapshotsTopic(), ADAPTER, List.of(s1));

        // 1. scored, verdict sent, then the process dies inside the transaction
        Running first = h.start(e -> {
            throw new SimulatedCrash();
        });
        first.thread.join(120_000);
        assertThat(first.failure.get()).isInstanceOf(SimulatedCrash.class);
        assertThat(first.progress).contains("s-1 candidate held-out NLL 6/6");

        // 2. the restart (same transactional id) aborts the dangling transaction and judges s-1 again
        Running second = h.start(null);
        second.awaitEmitted(1);
        assertThat(second.emitted.get(0).getPassed()).as(Reports.text(second.emitted.get(0))).isTrue();
        second.stop();
        List<AdapterEvaluation> verdicts = h.committed(1);
        assertThat(verdicts).hasSize(1);
        assertThat(verdicts.get(0).getSnapshotId()).isEqualTo("s-1");
        assertThat(verdicts.get(0).getHeldoutSetSize()).isEqualTo(24);
        // the aborted verdict is in the log, invisible to read_committed readers (the publisher)
        assertThat(h.verdicts("read_uncommitted", 2, Duration.ofSeconds(10)).stream()
                .filter(r -> r.value().getSnapshotId().equals("s-1")).count()).isEqualTo(2);

        // 3. s-1 is released; the trainer re-sends the s-1 event, then a tampered s-2 and a good s-3: a third
        //    incarnation skips s-1, fails s-2 on its checksum and compares s-3 with release v1 (fetched from the store)
        h.produce(h.config.releasesTopic(), ADAPTER, List.of(h.release(1, s1)));
        AdapterSnapshot s2 = h.snapshot("s-2", good);
        Path weights = Path.of(java.net.URI.create(s2.getArtifactUri())).resolve(PeftAdapter.WEIGHTS_FILE);
        try (RandomAccessFile raf = new RandomAccessFile(weights.toFile(), "rw")) {
            raf.seek(raf.length() - 4);
            raf.write(0x7f);
        }
        AdapterSnapshot gone = AdapterSnapshot.newBuilder(s1).setSnapshotId("s-4")
                .setArtifactUri(h.store.resolve(ADAPTER).resolve("snapshots/deleted").toUri().toString()).build();
        AdapterSnapshot unlisted = AdapterSnapshot.newBuilder(h.snapshot("s-5", good)).setArtifactSha256(Map.of()).build();
        h.produce(h.config.snapshotsTopic(), ADAPTER, List.of(s1, s2, h.snapshot("s-3", good), gone, unlisted));
        SimpleMeterRegistry meters = new SimpleMeterRegistry(); // what --metrics-port would scrape
        Metrics.addRegistry(meters);
        Running third = h.start(null);
        try {
            third.awaitEmitted(4);
            Thread.sleep(500); // time for a wrong extra verdict to appear
            // this incarnation's committed verdicts: s-3 passed; s-2, s-4 and s-5 failed
            assertThat(meters.get("qlora.evaluator.evaluations").tags("adapter", ADAPTER, "verdict", "pass").counter().count()).isEqualTo(1);
            assertThat(meters.get("qlora.evaluator.evaluations").tags("adapter", ADAPTER, "verdict", "fail").counter().count()).isEqualTo(3);
            assertThat(meters.get("qlora.evaluator.evaluation.duration").tag("adapter", ADAPTER).timer().count()).isEqualTo(4);
            // the latest verdict (s-5) failed its checksum check; the gate values of the last full evaluation (s-3) remain
            assertThat(meters.get("qlora.evaluator.check.passed").tags("adapter", ADAPTER, "check", "checksum").gauge().value()).isZero();
            assertThat(meters.get("qlora.evaluator.check.passed").tags("adapter", ADAPTER, "check", "beats_base").gauge().value()).isEqualTo(1);
            assertThat(meters.get("qlora.evaluator.metric").tags("adapter", ADAPTER, "metric", "candidate_nll").gauge().value()).isFinite().isPositive();
            assertThat(meters.find("kafka.producer.record.send.total").functionCounters()).as("the producer's own metrics").isNotEmpty();
        } finally {
            Metrics.removeRegistry(meters);
        }
        third.stop();
        assertThat(third.skipped).anySatisfy(s -> assertThat(s).startsWith("s-1: already judged"));
        List<AdapterEvaluation> all = h.committed(5);
        assertThat(all).extracting(AdapterEvaluation::getSnapshotId).containsExactly("s-1", "s-2", "s-3", "s-4", "s-5");
        // an event without checksums is never loaded unverified
        assertThat(all.get(4).getChecks()).extracting(c -> c.getName()).containsExactly("checksum");
        assertThat(all.get(4).getReason()).contains("carries no artifact_sha256");
        // an artifact that is not in the store is a failing verdict, not a service that stops on it forever
        assertThat(all.get(3).getPassed()).isFalse();
        assertThat(all.get(3).getChecks()).extracting(c -> c.getName()).containsExactly("artifact");
        assertThat(all.get(3).getReason()).startsWith("failed artifact: NoSuchFileException");
        AdapterEvaluation tampered = all.get(1);
        assertThat(tampered.getPassed()).isFalse();
        assertThat(tampered.getChecks()).extracting(c -> c.getName()).containsExactly("checksum");
        assertThat(tampered.getReason()).contains("failed checksum").contains(PeftAdapter.WEIGHTS_FILE);
        AdapterEvaluation vsRelease = all.get(2);
        assertThat(vsRelease.getCurrentReleaseVersion()).isEqualTo(1);
        assertThat(vsRelease.getMetrics().get("current_release_nll")).isEqualTo(vsRelease.getMetrics().get("candidate_nll"));
        assertThat(vsRelease.getPassed()).as(Reports.text(vsRelease)).isTrue();
    }
}
