package io.qlorastream.app;

import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.engine.model.ModelMaker;
import io.qlorastream.engine.model.ModelShape;
import io.qlorastream.engine.tensor.DType;
import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.events.EvaluationCheck;
import io.qlorastream.schemas.serde.AvroSerializer;
import io.qlorastream.store.AdapterStore;
import io.qlorastream.store.StoredArtifact;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpServer;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/** `publisher`, `releases`, `rollback` and `subscribe` from the real fat jar against `stack`, as an operator runs them. */
class PublisherCommandIT {
    private static final Duration WAIT = Duration.ofSeconds(90);

    @Test
    void publishListRollBackAndSubscribe(@TempDir Path dir) throws Exception {
        int port = freePort();
        int registryPort = freePort();
        String bootstrap = "127.0.0.1:" + port;
        String registry = "http://127.0.0.1:" + registryPort;
        String[] kafka = {"--bootstrap-servers", bootstrap, "--schema-registry-url", registry};
        Path store = dir.resolve("store");
        Path keys = dir.resolve("keys");
        try (JarProcess stack = JarProcess.start("stack", "--port", Integer.toString(port), "--registry-port", Integer.toString(registryPort))) {
            stack.awaitStdout("Schema registry ready", WAIT);
            try (JarProcess publisher = JarProcess.start(args(kafka, "publisher", "--adapter-store", store.toString(), "--key-dir", keys.toString(),
                    "--partitions", "1", "--metrics-port", "0", "--metrics-host", "127.0.0.1"))) {
                String metricsLine = publisher.awaitStdout("Metrics at http://", WAIT);
                URI metrics = URI.create(metricsLine.substring(metricsLine.indexOf("http://")).trim());
                publisher.awaitStdout("Generated a new Ed25519 signing key pair in " + keys, WAIT);
                publisher.awaitStdout("Publisher running", WAIT);

                Path model = dir.resolve("model");
                ModelMaker.write(model, ModelShape.llama(32, 2, 4, 2, 64, 320), 3, DType.F32);
                try (KafkaProducer<String, Object> producer = producer(bootstrap, registry);
                     AdapterStore adapterStore = AdapterStore.open(store.toString())) {
                    Integer compared = null;
                    for (int i = 1; i <= 2; i++) {
                        AdapterSnapshot s = snapshot(adapterStore, model, dir, "support", i);
                        producer.send(new ProducerRecord<>("adapter-snapshots", "support", s)).get();
                        producer.send(new ProducerRecord<>("adapter-evaluations", "support", evaluation(s, compared, 2.0 - 0.1 * i))).get();
                        publisher.awaitStdout("released support v" + i + " from snapshot " + s.getSnapshotId(), WAIT);
                        compared = i;
                    }
                }
                assertThat(Files.isRegularFile(store.resolve("support/releases/v2/release.json"))).isTrue();

                // what Prometheus scrapes from the running process
                HttpResponse<String> scrape = HttpClient.newHttpClient().send(HttpRequest.newBuilder(metrics).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(scrape.statusCode()).isEqualTo(200);
                assertThat(scrape.body())
                        .contains("qlora_publisher_current_version{adapter=\"support\",service=\"publisher\"} 2.0")
                        .contains("qlora_publisher_decisions_total{adapter=\"support\",decision=\"released\",service=\"publisher\"} 2.0")
                        .contains("kafka_consumer_fetch_manager_records_consumed_total{")
                        .contains("jvm_memory_used_bytes{");
            }

            try (JarProcess releases = JarProcess.start(args(kafka, "releases"))) {
                assertThat(releases.awaitExit(WAIT)).as(releases.stderr()).isZero();
                String out = releases.stdout();
                assertThat(out).containsPattern("(?m)^Current releases:\\n.*\\n  support +v2 +RELEASE ");
                assertThat(out).containsPattern("(?m)^  support +v1 +RELEASE .* candidate_nll=1\\.9000");
                assertThat(out).containsPattern("(?m)^  support +v2 +RELEASE .* candidate_nll=1\\.8000");
            }

            try (JarProcess rollback = JarProcess.start(args(kafka, "rollback", "--adapter", "support", "--key-dir", keys.toString()))) {
                assertThat(rollback.awaitExit(WAIT)).as(rollback.stderr()).isZero();
                assertThat(rollback.stdout()).contains("Rolled back support from v2 to v1");
            }
            try (JarProcess releases = JarProcess.start(args(kafka, "releases", "--adapter", "support"))) {
                assertThat(releases.awaitExit(WAIT)).as(releases.stderr()).isZero();
                assertThat(releases.stdout()).containsPattern("(?m)^Current releases:\\n.*\\n  support +v1 +ROLLBACK ");
                assertThat(releases.stdout()).containsPattern("(?m)^  support +v1 +ROLLBACK ");
            }
            try (JarProcess bad = JarProcess.start(args(kafka, "rollback", "--adapter", "nope", "--key-dir", keys.toString()))) {
                assertThat(bad.awaitExit(WAIT)).isEqualTo(1);
                assertThat(bad.stderr()).contains("qlora-stream rollback: adapter nope has no releases");
            }
            try (JarProcess noKey = JarProcess.start(args(kafka, "rollback", "--adapter", "support", "--key-dir", dir.resolve("none").toString()))) {
                assertThat(noKey.awaitExit(WAIT)).isEqualTo(1);
                assertThat(noKey.stderr()).contains("no signing key");
            }

            // The first publisher was killed (SIGKILL, by close). A new one in a new group replays every evaluation: the
            // state rebuilt from the log (rollback included) makes them duplicates, and the next snapshot v3.
            try (JarProcess publisher = JarProcess.start(args(kafka, "publisher", "--adapter-store", store.toString(), "--key-dir", keys.toString(),
                    "--group-id", "qlora-publisher-replay"))) {
                publisher.awaitStdout("Publisher running", WAIT);
                publisher.awaitStdout("duplicate support snapshot snap-1 (evaluation eval-snap-1): evaluation eval-snap-1 already released as v1", WAIT);
                publisher.awaitStdout("duplicate support snapshot snap-2", WAIT);
                try (KafkaProducer<String, Object> producer = producer(bootstrap, registry);
                     AdapterStore adapterStore = AdapterStore.open(store.toString())) {
                    AdapterSnapshot s = snapshot(adapterStore, dir.resolve("model"), dir, "support", 3);
                    producer.send(new ProducerRecord<>("adapter-snapshots", "support", s)).get();
                    producer.send(new ProducerRecord<>("adapter-evaluations", "support", evaluation(s, 1, 1.5))).get();
                }
                publisher.awaitStdout("released support v3 from snapshot snap-3", WAIT);
                assertThat(publisher.terminate(WAIT)).isNotEqualTo(-1);
                assertThat(publisher.stdout()).contains("Publisher stopped. released=1 refused=0 duplicates=2");
            }

            Path serving = dir.resolve("serving");
            List<String> vllmCalls = new CopyOnWriteArrayList<>();
            HttpServer vllm = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            vllm.createContext("/v1/", ex -> {
                vllmCalls.add(ex.getRequestURI().getPath() + " " + new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
                ex.sendResponseHeaders(200, -1);
                ex.close();
            });
            vllm.start();
            try (JarProcess subscribe = JarProcess.start(args(kafka, "subscribe", "--dir", serving.toString(), "--adapter", "support",
                    "--trusted-key", keys.resolve("release-signing.pub").toString(),
                    "--vllm-url", "http://127.0.0.1:" + vllm.getAddress().getPort()))) {
                subscribe.awaitStdout("support v3 (RELEASE) is current: " + serving.resolve("support/v3"), WAIT);
                subscribe.awaitStdout("Caught up with adapter-releases.", WAIT);
                assertThat(Files.readSymbolicLink(serving.resolve("support/current"))).isEqualTo(Path.of("v3"));
                long deadline = System.nanoTime() + WAIT.toNanos();
                while (vllmCalls.isEmpty() && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertThat(vllmCalls).containsExactly("/v1/load_lora_adapter {\"lora_name\":\"support-v3\",\"lora_path\":\""
                        + serving.resolve("support/v3").toAbsolutePath() + "\"}");
                assertThat(subscribe.terminate(WAIT)).isNotEqualTo(-1);
                assertThat(subscribe.stdout()).contains("Subscriber stopped.");
            } finally {
                vllm.stop(0);
            }
        }
    }

    private static String[] args(String[] kafka, String... command) {
        String[] all = new String[command.length + kafka.length];
        System.arraycopy(command, 0, all, 0, command.length);
        System.arraycopy(kafka, 0, all, command.length, kafka.length);
        return all;
    }

    private static KafkaProducer<String, Object> producer(String bootstrap, String registry) {
        Map<String, Object> p = new HashMap<>();
        p.put("bootstrap.servers", bootstrap);
        p.put("schema.registry.url", registry);
        p.put("key.serializer", StringSerializer.class.getName());
        p.put("value.serializer", AvroSerializer.class.getName());
        return new KafkaProducer<>(p);
    }

    /** A real PEFT adapter of the tiny model in the store, and the trainer's event for it. */
    private static AdapterSnapshot snapshot(AdapterStore store, Path model, Path dir, String adapter, int seed) throws Exception {
        String id = "snap-" + seed;
        Path local = dir.resolve("peft-" + seed);
        LoraConfig c = new LoraConfig(4, 8, 0.0, List.of("q_proj", "v_proj"), false);
        PeftAdapter.save(LoraAdapter.initialize(c, LlamaConfig.read(model), seed), local, "tiny-model");
        StoredArtifact a = store.put(adapter + "/snapshots/" + id, local);
        return AdapterSnapshot.newBuilder().setAdapterName(adapter).setSnapshotId(id).setLineageId("l").setStep(seed).setExamplesSeen(seed)
                .setTokensSeen(seed).setTrainingLoss(2.0).setBaseModelName("tiny-model").setBaseModelHash("ab".repeat(32))
                .setLoraConfig(io.qlorastream.events.LoraConfig.newBuilder().setR(4).setLoraAlpha(8).setTargetModules(List.of("q_proj", "v_proj"))
                        .build())
                .setArtifactUri(a.uri().toString()).setArtifactSha256(a.sha256()).setOffsetRanges(List.of()).setCreatedAt(Instant.now()).build();
    }

    private static AdapterEvaluation evaluation(AdapterSnapshot s, Integer compared, double candidateNll) {
        Map<String, Double> metrics = new HashMap<>(Map.of("candidate_nll", candidateNll, "base_nll", 2.5));
        if (compared != null) {
            metrics.put("current_release_nll", candidateNll + 0.1);
        }
        return AdapterEvaluation.newBuilder().setEvaluationId("eval-" + s.getSnapshotId()).setAdapterName(s.getAdapterName())
                .setSnapshotId(s.getSnapshotId()).setLineageId("l").setStep(s.getStep()).setArtifactUri(s.getArtifactUri())
                .setArtifactSha256(s.getArtifactSha256()).setHeldoutSetHash("cd".repeat(32)).setHeldoutSetSize(8)
                .setCurrentReleaseVersion(compared).setMetrics(metrics)
                .setChecks(List.of(new EvaluationCheck("beats_base", 0.5, 0.01, true))).setPassed(true).setReason("every check passed")
                .setEvaluatedAt(Instant.now()).setBaseModelName(s.getBaseModelName()).setBaseModelHash(s.getBaseModelHash())
                .setLoraConfig(s.getLoraConfig()).build();
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
