package io.qlorastream.publisher;

import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.engine.model.ModelMaker;
import io.qlorastream.engine.model.ModelShape;
import io.qlorastream.engine.tensor.DType;
import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.events.EvaluationCheck;
import io.qlorastream.events.LoraConfig;
import io.qlorastream.schemas.serde.AvroSerializer;
import io.qlorastream.schemas.kafka.TopicReader;
import io.qlorastream.store.AdapterStore;
import io.qlorastream.store.StoredArtifact;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;

/**
 * One test's pipeline: its own topics on the shared embedded broker, an adapter store and a key directory under a
 * temporary directory, real PEFT snapshots of a tiny random Llama (engine), and the trainer's and evaluator's events
 * written as they would write them.
 */
final class Fixture implements AutoCloseable {
    static final LoraConfig LORA = LoraConfig.newBuilder().setR(4).setLoraAlpha(8.0).setLoraDropout(0.05)
            .setUseRslora(false).setTargetModules(List.of("q_proj", "v_proj")).build();

    final Path root;
    final Path storeDir;
    final Path keyDir;
    final Properties client;
    final PublisherConfig config;
    final Path modelDir;
    final String baseModelHash;
    private final KafkaProducer<String, Object> producer;
    private final AdapterStore store;

    Fixture(Path root, String bootstrap, String registryUrl) throws IOException {
        this.root = root;
        this.storeDir = root.resolve("store");
        this.keyDir = root.resolve("keys");
        this.client = new Properties();
        client.put("bootstrap.servers", bootstrap);
        client.put("schema.registry.url", registryUrl);
        String t = "-" + UUID.randomUUID().toString().substring(0, 8);
        this.config = PublisherConfig.defaults(storeDir.toString(), keyDir)
                .withTopics("adapter-evaluations" + t, "adapter-releases" + t, "adapter-release-log" + t)
                .withGroup("qlora-publisher" + t, "qlora-publisher" + t)
                .withPartitions(2, (short) 1);
        PublisherTopics.createMissing(client, config);
        Properties p = new Properties();
        p.putAll(client);
        p.put("key.serializer", StringSerializer.class.getName());
        p.put("value.serializer", AvroSerializer.class.getName());
        p.put("acks", "all");
        this.producer = new KafkaProducer<>(p);
        this.store = AdapterStore.open(storeDir.toString());
        this.modelDir = root.resolve("model");
        ModelMaker.write(modelDir, ModelShape.llama(32, 2, 4, 2, 64, 320), 3, DType.F32);
        this.baseModelHash = sha256(modelDir.resolve("config.json"), modelDir.resolve("model.safetensors"));
    }

    Publisher publisher(List<Publisher.Outcome> outcomes) throws Exception {
        return publisher(config, outcomes);
    }

    Publisher publisher(PublisherConfig c, List<Publisher.Outcome> outcomes) throws Exception {
        Publisher p = new Publisher(c, client, Clock.systemUTC(), o -> {
            synchronized (outcomes) {
                outcomes.add(o);
            }
        }).start();
        if (!p.awaitRunning(Duration.ofSeconds(60))) {
            throw new AssertionError("publisher did not start", p.failure());
        }
        return p;
    }

    /**
     * A trained-looking snapshot: real PEFT files (random A, seeded) in the store, and its AdapterSnapshot event as
     * the trainer declares it (the evaluator reads it; the publisher gets what it needs from the evaluation).
     */
    AdapterSnapshot snapshot(String adapter, long seed) throws Exception {
        return snapshot(adapter, seed, Map.of());
    }

    /** A snapshot with more files beside the PEFT pair (a GGUF form, say), released with them. */
    AdapterSnapshot snapshot(String adapter, long seed, Map<String, byte[]> extraFiles) throws Exception {
        String id = "snap-" + seed + "-" + UUID.randomUUID().toString().substring(0, 6);
        Path local = root.resolve("peft-" + id);
        LlamaConfig model = LlamaConfig.read(modelDir);
        io.qlorastream.engine.lora.LoraConfig c = new io.qlorastream.engine.lora.LoraConfig(LORA.getR(), LORA.getLoraAlpha(),
                LORA.getLoraDropout(), LORA.getTargetModules(), LORA.getUseRslora());
        LoraAdapter a = LoraAdapter.initialize(c, model, seed);
        for (int i = 0; i < a.params.length; i++) {
            a.params[i] += 0.001f * (i % 7); // B non-zero: a trained adapter, not the identity
        }
        PeftAdapter.save(a, local, "tiny-model");
        for (Map.Entry<String, byte[]> e : extraFiles.entrySet()) {
            Files.write(local.resolve(e.getKey()), e.getValue());
        }
        StoredArtifact art = store.put(adapter + "/snapshots/" + id, local);
        AdapterSnapshot s = AdapterSnapshot.newBuilder().setAdapterName(adapter).setSnapshotId(id).setLineageId("lineage-1")
                .setStep(seed * 10).setExamplesSeen(seed * 40).setTokensSeen(seed * 4000).setTrainingLoss(2.5)
                .setBaseModelName("tiny-model").setBaseModelHash(baseModelHash).setLoraConfig(LORA)
                .setArtifactUri(art.uri().toString()).setArtifactSha256(art.sha256()).setOffsetRanges(List.of())
                .setCreatedAt(Instant.now()).build();
        return s;
    }

    /**
     * The evaluator's verdict on a snapshot, with the base model and LoRA config the snapshot declared;
     * {@code comparedVersion} is the release it was compared against.
     */
    AdapterEvaluation evaluation(AdapterSnapshot s, boolean passed, Integer comparedVersion, double candidateNll, double releaseNll) {
        Map<String, Double> metrics = new java.util.HashMap<>(Map.of("candidate_nll", candidateNll, "base_nll", 3.0));
        if (comparedVersion != null) {
            metrics.put("current_release_nll", releaseNll);
        }
        return AdapterEvaluation.newBuilder().setEvaluationId("eval-" + UUID.randomUUID()).setAdapterName(s.getAdapterName())
                .setSnapshotId(s.getSnapshotId()).setLineageId(s.getLineageId()).setStep(s.getStep())
                .setArtifactUri(s.getArtifactUri()).setArtifactSha256(s.getArtifactSha256())
                .setHeldoutSetHash("ab".repeat(32)).setHeldoutSetSize(16).setCurrentReleaseVersion(comparedVersion)
                .setMetrics(metrics)
                .setChecks(List.of(new EvaluationCheck("beats_base", 3.0 - candidateNll, 0.01, passed)))
                .setPassed(passed).setReason(passed ? "every check passed" : "beats_base failed")
                .setEvaluatedAt(Instant.now()).setBaseModelName(s.getBaseModelName()).setBaseModelHash(s.getBaseModelHash())
                .setLoraConfig(s.getLoraConfig()).build();
    }

    void send(String topic, String key, Object value) throws ExecutionException, InterruptedException {
        producer.send(new ProducerRecord<>(topic, key, value)).get();
    }

    void sendEvaluation(AdapterEvaluation e) throws ExecutionException, InterruptedException {
        send(config.evaluationsTopic(), e.getAdapterName(), e);
    }

    /** Every event of the release log, once it holds at least {@code atLeast} (read_committed). */
    List<AdapterRelease> awaitLog(int atLeast, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<AdapterRelease> all = new ArrayList<>();
            try (TopicReader<AdapterRelease> t = KafkaClients.wholeTopic(client, config.releaseLogTopic())) {
                t.catchUp(r -> all.add(r.value()), Duration.ofSeconds(30));
            }
            if (all.size() >= atLeast || System.nanoTime() > deadline) {
                all.sort(java.util.Comparator.comparing(AdapterRelease::getReleasedAt));
                return all;
            }
            Thread.sleep(200);
        }
    }

    static String sha256(Path... files) throws IOException {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            for (Path f : files) {
                try (InputStream in = Files.newInputStream(f)) {
                    d.update(in.readAllBytes());
                }
            }
            return HexFormat.of().formatHex(d.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() throws Exception {
        producer.close(Duration.ofSeconds(5));
        store.close();
    }
}
