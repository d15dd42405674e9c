package io.qlorastream.publisher;

import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import com.sun.net.httpserver.HttpServer;
import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.broker.junit.EmbeddedKafkaExtension;
import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.publisher.subscriber.AdapterSubscriber;
import io.qlorastream.publisher.subscriber.ReleaseListener;
import io.qlorastream.publisher.subscriber.Backoff;
import io.qlorastream.publisher.subscriber.ServingSwitch;
import io.qlorastream.publisher.subscriber.LlamaCppTarget;
import io.qlorastream.publisher.subscriber.RecordingServer;
import io.qlorastream.publisher.subscriber.ServingTarget;
import io.qlorastream.publisher.subscriber.SglangTarget;
import io.qlorastream.publisher.subscriber.VllmTarget;
import io.qlorastream.schemas.junit.EmbeddedSchemaRegistryExtension;
import io.qlorastream.schemas.registry.server.EmbeddedSchemaRegistry;
import io.qlorastream.store.AdapterStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/** The subscriber library against the real publisher, the real store and a vLLM stand-in that records its calls. */
@ExtendWith({EmbeddedKafkaExtension.class, EmbeddedSchemaRegistryExtension.class})
class SubscriberTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    /** What a listener saw, in order: "installed support v3 (replaced 2)" / "refused support v2: reason". */
    static final class Recorder implements ReleaseListener {
        final List<String> events = new ArrayList<>();

        @Override
        public synchronized void installed(AdapterRelease r, Path versionDir, Integer replaced) {
            events.add("installed " + r.getAdapterName() + " v" + r.getVersion() + " (replaced " + replaced + ")");
        }

        @Override
        public synchronized void refused(AdapterRelease r, String reason) {
            events.add("refused " + r.getAdapterName() + " v" + r.getVersion() + ": " + reason);
        }

        synchronized List<String> events() {
            return List.copyOf(events);
        }
    }

    @Test
    void aLateSubscriberEndsOnTheLatestThenFollowsReleasesAndRollbacksAndDrivesVllm(EmbeddedKafkaBroker broker, EmbeddedSchemaRegistry registry,
                                                                                      @TempDir Path dir) throws Exception {
        List<String> vllmCalls = new ArrayList<>();
        HttpServer vllm = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        vllm.createContext("/v1/", ex -> {
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            synchronized (vllmCalls) {
                vllmCalls.add(ex.getRequestMethod() + " " + ex.getRequestURI().getPath() + " " + body);
            }
            byte[] ok = "Success".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, ok.length);
            ex.getResponseBody().write(ok);
            ex.close();
        });
        vllm.start();
        try (Fixture f = new Fixture(dir, broker.bootstrapServers(), registry.url());
             Publisher p = f.publisher(new ArrayList<>())) {
            Integer compared = null;
            for (int i = 1; i <= 3; i++) {
                f.sendEvaluation(f.evaluation(f.snapshot("support", i), true, compared, 2.0 - 0.1 * i, 2.0 - 0.1 * (i - 1)));
                f.awaitLog(i, WAIT);
                compared = i;
            }
            // Another adapter the subscriber does not want.
            f.sendEvaluation(f.evaluation(f.snapshot("code-review", 9), true, null, 2.0, 0));
            f.awaitLog(4, WAIT);

            Path local = dir.resolve("serving");
            Recorder rec = new Recorder();
            URI vllmUrl = URI.create("http://127.0.0.1:" + vllm.getAddress().getPort());
            try (AdapterSubscriber s = AdapterSubscriber.builder(f.client, local).topic(f.config.releasesTopic())
                    .adapters(List.of("support")).trustedKey(SigningKeys.readPublicKey(f.keyDir.resolve(SigningKeys.PUBLIC_KEY_FILE)))
                    .listener(ReleaseListener.both(rec, new ServingSwitch(new VllmTarget(vllmUrl), Backoff.defaults()))).build().start()) {
                assertThat(s.awaitCaughtUp(WAIT)).isTrue();
                // Of the releases read in one poll only the newest is installed; should the three arrive in two polls,
                // an older one may be installed first, but the subscriber always ends on v3.
                assertThat(rec.events()).last().asString().startsWith("installed support v3 (replaced ");
                assertThat(rec.events()).allMatch(e -> e.startsWith("installed support v"));
                assertThat(Files.readSymbolicLink(local.resolve("support/current"))).isEqualTo(Path.of("v3"));
                assertThat(Files.readString(local.resolve("support/current/adapter_config.json"))).contains("\"r\"");
                assertThat(local.resolve("code-review")).doesNotExist();
                String v3Path = local.resolve("support/v3").toAbsolutePath().toString();
                awaitTrue(() -> calls(vllmCalls).contains("POST /v1/load_lora_adapter {\"lora_name\":\"support-v3\",\"lora_path\":\"" + v3Path + "\"}"));
                int n0 = calls(vllmCalls).size();

                // A new release: loaded, then the replaced version unloaded.
                f.sendEvaluation(f.evaluation(f.snapshot("support", 4), true, 3, 1.5, 1.7));
                awaitTrue(() -> rec.events().contains("installed support v4 (replaced 3)"));
                String v4Path = local.resolve("support/v4").toAbsolutePath().toString();
                awaitTrue(() -> calls(vllmCalls).size() >= n0 + 2);
                assertThat(calls(vllmCalls).subList(n0, n0 + 2)).containsExactly(
                        "POST /v1/load_lora_adapter {\"lora_name\":\"support-v4\",\"lora_path\":\"" + v4Path + "\"}",
                        "POST /v1/unload_lora_adapter {\"lora_name\":\"support-v3\"}");

                // Rollback: the previous version becomes current here too, and vLLM serves it again.
                Rollback.rollback(f.client, f.config.releasesTopic(), f.config.releaseLogTopic(), "support", null, SigningKeys.load(f.keyDir),
                        Clock.systemUTC());
                awaitTrue(() -> rec.events().contains("installed support v3 (replaced 4)"));
                assertThat(Files.readSymbolicLink(local.resolve("support/current"))).isEqualTo(Path.of("v3"));
                awaitTrue(() -> calls(vllmCalls).size() >= n0 + 4);
                assertThat(calls(vllmCalls).subList(n0 + 2, n0 + 4)).containsExactly(
                        "POST /v1/load_lora_adapter {\"lora_name\":\"support-v3\",\"lora_path\":\"" + v3Path + "\"}",
                        "POST /v1/unload_lora_adapter {\"lora_name\":\"support-v4\"}");
            }
        } finally {
            vllm.stop(0);
        }
    }

    @Test
    void aTamperedArtifactOrSignatureIsRefusedAndNeverBecomesCurrent(EmbeddedKafkaBroker broker, EmbeddedSchemaRegistry registry,
                                                                      @TempDir Path dir) throws Exception {
        try (Fixture f = new Fixture(dir, broker.bootstrapServers(), registry.url())) {
            try (Publisher p = f.publisher(new ArrayList<>())) {
                f.sendEvaluation(f.evaluation(f.snapshot("support", 1), true, null, 2.0, 0));
                f.awaitLog(1, WAIT);
            }
            SigningKeys keys = SigningKeys.load(f.keyDir);
            Path local = dir.resolve("serving");
            Recorder rec = new Recorder();
            SimpleMeterRegistry meters = new SimpleMeterRegistry(); // what subscribe --metrics-port would scrape
            Metrics.addRegistry(meters);
            try (AdapterSubscriber s = AdapterSubscriber.builder(f.client, local).topic(f.config.releasesTopic())
                    .trustedKey(keys.publicKey()).listener(rec).build().start()) {
                assertThat(s.awaitCaughtUp(WAIT)).isTrue();
                assertThat(rec.events()).containsExactly("installed support v1 (replaced null)");

                // 1. The artifact changed in the store after signing: one byte of the weights.
                AdapterRelease tampered = signedRelease(f, keys, 2);
                Path weights = Path.of(URI.create(tampered.getArtifactUri())).resolve("adapter_model.safetensors");
                byte[] bytes = Files.readAllBytes(weights);
                bytes[bytes.length - 1] ^= 1;
                Files.write(weights, bytes, StandardOpenOption.TRUNCATE_EXISTING);
                f.send(f.config.releasesTopic(), "support", tampered);
                awaitTrue(() -> rec.events().size() == 2);
                assertThat(rec.events().get(1)).startsWith("refused support v2: fetching");

                // 2. A valid release whose signature was altered.
                AdapterRelease badSig = signedRelease(f, keys, 3);
                byte[] sig = Base64.getDecoder().decode(badSig.getSignature());
                sig[5] ^= 1;
                badSig.setSignature(Base64.getEncoder().encodeToString(sig));
                f.send(f.config.releasesTopic(), "support", badSig);
                awaitTrue(() -> rec.events().size() == 3);
                assertThat(rec.events().get(2)).isEqualTo("refused support v3: the Ed25519 signature does not match the release manifest");

                // 3. A signed field changed after signing (another base model).
                AdapterRelease badField = signedRelease(f, keys, 4);
                badField.setBaseModelHash("00".repeat(32));
                f.send(f.config.releasesTopic(), "support", badField);
                awaitTrue(() -> rec.events().size() == 4);
                assertThat(rec.events().get(3)).isEqualTo("refused support v4: the Ed25519 signature does not match the release manifest");

                // 4. Signed, consistently, by somebody else's key.
                SigningKeys other = SigningKeys.loadOrGenerate(dir.resolve("attacker-keys"));
                AdapterRelease foreign = signedRelease(f, other, 5);
                f.send(f.config.releasesTopic(), "support", foreign);
                awaitTrue(() -> rec.events().size() == 5);
                assertThat(rec.events().get(4)).isEqualTo("refused support v5: signed by key " + other.keyId() + ", the trusted key is "
                        + keys.keyId());

                assertThat(Files.readSymbolicLink(local.resolve("support/current"))).isEqualTo(Path.of("v1"));
                assertThat(local.resolve("support/v2")).doesNotExist();
                try (var listing = Files.list(local.resolve("support"))) {
                    assertThat(listing.map(x -> x.getFileName().toString()).sorted().toList()).containsExactly("current", "v1");
                }

                // And an untampered one is taken: the refusals were about the releases, not the subscriber.
                f.send(f.config.releasesTopic(), "support", signedRelease(f, keys, 6));
                awaitTrue(() -> rec.events().size() == 6);
                assertThat(rec.events().get(5)).isEqualTo("installed support v6 (replaced 1)");
                assertThat(Files.readSymbolicLink(local.resolve("support/current"))).isEqualTo(Path.of("v6"));

                assertThat(meters.get("qlora.subscriber.current.version").tag("adapter", "support").gauge().value()).isEqualTo(6);
                assertThat(meters.get("qlora.subscriber.installs").tag("adapter", "support").counter().count()).isEqualTo(2);
                // the tampered artifact failed its fetch check: a refusal, as the three bad signatures are
                assertThat(meters.get("qlora.subscriber.verification.failures").tag("adapter", "support").counter().count()).isEqualTo(4);
                assertThat(meters.find("kafka.consumer.fetch.manager.records.consumed.total").functionCounters())
                        .as("the consumer's own metrics").isNotEmpty();
            } finally {
                Metrics.removeRegistry(meters);
            }
        }
    }

    @Test
    void aReleaseWhoseFilesCannotBeFetchedYetIsTriedAgain(EmbeddedKafkaBroker broker, EmbeddedSchemaRegistry registry, @TempDir Path dir)
            throws Exception {
        try (Fixture f = new Fixture(dir, broker.bootstrapServers(), registry.url())) {
            SigningKeys keys = SigningKeys.loadOrGenerate(f.keyDir);
            AdapterRelease r = signedRelease(f, keys, 1);
            Path artifact = Path.of(URI.create(r.getArtifactUri()));
            Path away = dir.resolve("away");
            Files.move(artifact, away); // the store does not have it (yet): not a verdict on the release
            f.send(f.config.releasesTopic(), "support", r);
            Recorder rec = new Recorder();
            Path local = dir.resolve("serving");
            try (AdapterSubscriber s = AdapterSubscriber.builder(f.client, local).topic(f.config.releasesTopic()).trustedKey(keys.publicKey())
                    .retryInterval(Duration.ofMillis(300)).listener(rec).build().start()) {
                assertThat(s.awaitCaughtUp(WAIT)).isTrue();
                Thread.sleep(1000); // a few retries fail meanwhile
                assertThat(rec.events()).isEmpty();
                assertThat(local.resolve("support/current")).doesNotExist();
                Files.move(away, artifact);
                awaitTrue(() -> rec.events().contains("installed support v1 (replaced null)"));
                assertThat(Files.readSymbolicLink(local.resolve("support/current"))).isEqualTo(Path.of("v1"));
            }
        }
    }

    @Test
    void everyServingTargetFollowsReleasesRefusesATamperedOneAndFollowsARollback(EmbeddedKafkaBroker broker, EmbeddedSchemaRegistry registry,
                                                                                 @TempDir Path dir) throws Exception {
        Map<String, byte[]> gguf = Map.of(LlamaCppTarget.GGUF_FILE, "GGUF-form-of-the-adapter".getBytes(StandardCharsets.UTF_8));
        Path hookLog = dir.resolve("llamacpp-restarts.log");
        Path local = dir.resolve("serving");
        Backoff fast = new Backoff(4, Duration.ofMillis(50), Duration.ofMillis(200));
        try (Fixture f = new Fixture(dir, broker.bootstrapServers(), registry.url());
             Publisher p = f.publisher(new ArrayList<>());
             RecordingServer vllm = new RecordingServer(RecordingServer.Kind.VLLM);
             RecordingServer vllmStable = new RecordingServer(RecordingServer.Kind.VLLM);
             RecordingServer sglang = new RecordingServer(RecordingServer.Kind.SGLANG)) {
            f.sendEvaluation(f.evaluation(f.snapshot("support", 1, gguf), true, null, 1.8, 0));
            f.awaitLog(1, WAIT);
            Map<String, ServingTarget> targets = Map.of(
                    "vllm", new VllmTarget(vllm.url()),
                    "vllm-stable", new VllmTarget(vllmStable.url(), "support", "served-base", local.resolve("vllm-stable/.lora-resolver")),
                    "sglang", new SglangTarget(sglang.url()),
                    "llamacpp", new LlamaCppTarget("echo \"$QLORA_ADAPTER_VERSION $QLORA_ADAPTER_GGUF\" >> '" + hookLog + "'"),
                    "dir", ServingTarget.directoryOnly());
            Map<String, Recorder> recorders = new java.util.TreeMap<>();
            List<AutoCloseable> open = new ArrayList<>();
            SigningKeys keys = SigningKeys.load(f.keyDir);
            try {
                for (Map.Entry<String, ServingTarget> t : targets.entrySet()) {
                    Recorder rec = new Recorder();
                    recorders.put(t.getKey(), rec);
                    ServingSwitch serving = new ServingSwitch(t.getValue(), fast, (r, o, d) -> {
                        synchronized (rec) {
                            rec.events.add(t.getKey() + " " + o + " v" + r.getVersion());
                        }
                    });
                    open.add(serving);
                    open.add(AdapterSubscriber.builder(f.client, local.resolve(t.getKey())).topic(f.config.releasesTopic())
                            .adapters(List.of("support")).trustedKey(keys.publicKey())
                            .listener(ReleaseListener.both(rec, serving)).build().start());
                }
                // What each server serves now, as one line per target.
                Supplier<List<String>> served = () -> List.of(
                        "vllm " + vllm.loaded().keySet(),
                        "vllm-stable " + vllmStable.loaded().values().stream().map(v -> Path.of(v).getFileName().toString()).toList(),
                        "sglang " + sglang.loaded().keySet(),
                        "llamacpp " + lastHookVersion(hookLog),
                        "dir " + currentOf(local.resolve("dir/support")));
                List<String> v1 = List.of("vllm [support-v1]", "vllm-stable [support-v1]", "sglang [support-v1]", "llamacpp 1", "dir v1");
                awaitTrue(() -> served.get().equals(v1));
                assertThat(vllmStable.loaded()).containsOnlyKeys("support");
                assertThat(Files.readString(local.resolve("vllm-stable/.lora-resolver/support/adapter_config.json"))).contains("served-base");
                assertThat(Files.readAllLines(hookLog)).containsExactly("1 " + local.resolve("llamacpp/support/v1/adapter.gguf").toAbsolutePath());

                // A tampered release: every subscriber refuses it, nothing is sent to any server, v1 stays served.
                AdapterRelease tampered = signedRelease(f, keys, 50);
                Path weights = Path.of(URI.create(tampered.getArtifactUri())).resolve("adapter_model.safetensors");
                byte[] bytes = Files.readAllBytes(weights);
                bytes[bytes.length - 1] ^= 1;
                Files.write(weights, bytes, StandardOpenOption.TRUNCATE_EXISTING);
                List<Integer> callsBefore = List.of(vllm.calls().size(), vllmStable.calls().size(), sglang.calls().size());
                f.send(f.config.releasesTopic(), "support", tampered);
                for (Map.Entry<String, Recorder> r : recorders.entrySet()) {
                    awaitTrue(() -> r.getValue().events().stream().anyMatch(e -> e.startsWith("refused support v50: fetching")));
                    awaitTrue(() -> r.getValue().events().contains(r.getKey() + " REFUSED v50"));
                }
                assertThat(served.get()).isEqualTo(v1);
                assertThat(List.of(vllm.calls().size(), vllmStable.calls().size(), sglang.calls().size())).isEqualTo(callsBefore);

                // The next good release reaches every target; the old version is unloaded only after the new one loaded.
                f.sendEvaluation(f.evaluation(f.snapshot("support", 2, gguf), true, 1, 1.5, 1.8));
                List<String> v2 = List.of("vllm [support-v2]", "vllm-stable [support-v2]", "sglang [support-v2]", "llamacpp 2", "dir v2");
                awaitTrue(() -> served.get().equals(v2));
                assertThat(vllm.calls().subList(vllm.calls().size() - 2, vllm.calls().size()))
                        .extracting(c -> c.substring(0, c.indexOf(' '))).containsExactly("/v1/load_lora_adapter", "/v1/unload_lora_adapter");

                // A rollback is followed by all of them.
                Rollback.rollback(f.client, f.config.releasesTopic(), f.config.releaseLogTopic(), "support", null, keys, Clock.systemUTC());
                awaitTrue(() -> served.get().equals(v1));
                for (Map.Entry<String, Recorder> r : recorders.entrySet()) {
                    awaitTrue(() -> r.getValue().events().contains(r.getKey() + " SWITCHED v1")
                            && r.getValue().events().lastIndexOf(r.getKey() + " SWITCHED v1") > r.getValue().events().indexOf(r.getKey() + " SWITCHED v2"));
                    assertThat(r.getValue().events()).as(r.getKey()).noneMatch(e -> e.contains(" FAILED ") || e.contains(" UNSUPPORTED "));
                }
            } finally {
                for (int i = open.size() - 1; i >= 0; i--) {
                    open.get(i).close();
                }
            }
        }
    }

    private static String lastHookVersion(Path log) {
        try {
            List<String> lines = Files.exists(log) ? Files.readAllLines(log) : List.of();
            return lines.isEmpty() ? "none" : lines.get(lines.size() - 1).split(" ")[0];
        } catch (java.io.IOException e) {
            return "unreadable";
        }
    }

    private static String currentOf(Path adapterDir) {
        try {
            return Files.readSymbolicLink(adapterDir.resolve("current")).toString();
        } catch (java.io.IOException e) {
            return "none";
        }
    }

    /** A real release directory in the store and its signed event, written as the publisher writes them. */
    private static AdapterRelease signedRelease(Fixture f, SigningKeys keys, int version) throws Exception {
        AdapterSnapshot snap = f.snapshot("support", 100 + version);
        AdapterEvaluation e = f.evaluation(snap, true, null, 1.0, 0);
        AdapterRelease r = Publisher.draft(e, version, Instant.now(), keys);
        try (AdapterStore store = AdapterStore.open(f.storeDir.toString())) {
            new ReleaseArtifacts(store).promote(r, URI.create(snap.getArtifactUri()), snap.getArtifactSha256(), keys);
        }
        return r;
    }

    private static List<String> calls(List<String> calls) {
        synchronized (calls) {
            return List.copyOf(calls);
        }
    }

    private static void awaitTrue(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within " + WAIT);
            }
            Thread.sleep(50);
        }
    }
}
