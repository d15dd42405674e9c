package io.qlorastream.publisher;

import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.engine.model.ModelMaker;
import io.qlorastream.engine.model.ModelShape;
import io.qlorastream.engine.tensor.DType;
import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.store.AdapterStore;
import io.qlorastream.store.ArtifactVerificationException;
import io.qlorastream.store.StoredArtifact;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Promotion into the (immutable) store: only judged files, verified; an interrupted release resumed; an orphan skipped. */
class ReleaseArtifactsTest {
    @TempDir
    Path dir;
    AdapterStore store;
    SigningKeys keys;
    Path model;

    @BeforeEach
    void setUp() throws Exception {
        store = AdapterStore.open(dir.resolve("store").toString());
        keys = SigningKeys.loadOrGenerate(dir.resolve("keys"));
        model = dir.resolve("model");
        ModelMaker.write(model, ModelShape.llama(32, 2, 4, 2, 64, 320), 3, DType.F32);
    }

    private StoredArtifact snapshot(String id, boolean withExtraFile) throws Exception {
        Path local = dir.resolve("peft-" + id);
        PeftAdapter.save(LoraAdapter.initialize(new LoraConfig(4, 8, 0, List.of("q_proj"), false), LlamaConfig.read(model), id.hashCode()),
                local, "tiny");
        if (withExtraFile) {
            Files.writeString(local.resolve("training_log.jsonl"), "{\"step\":1}\n");
        }
        return store.put("support/snapshots/" + id, local);
    }

    private AdapterRelease draft(String snapshotId, String evaluationId, int version, Instant at) {
        AdapterEvaluation e = AdapterEvaluation.newBuilder().setEvaluationId(evaluationId).setAdapterName("support").setSnapshotId(snapshotId)
                .setLineageId("l").setStep(1).setArtifactUri("u").setArtifactSha256(Map.of()).setHeldoutSetHash("h").setHeldoutSetSize(1)
                .setMetrics(Map.of()).setChecks(List.of()).setPassed(true).setReason("ok").setEvaluatedAt(at)
                .setBaseModelName("tiny").setBaseModelHash("h").setLoraConfig(Fixture.LORA).build();
        return Publisher.draft(e, version, at, keys);
    }

    private static Map<String, String> peftOnly(StoredArtifact a) {
        Map<String, String> m = new TreeMap<>(a.sha256());
        m.keySet().retainAll(List.of("adapter_config.json", "adapter_model.safetensors"));
        return m;
    }

    @Test
    void onlyTheJudgedFilesAreReleasedAndSigned() throws Exception {
        StoredArtifact snap = snapshot("s1", true);
        AdapterRelease r = draft("s1", "e1", 1, Instant.now());
        new ReleaseArtifacts(store).promote(r, snap.uri(), peftOnly(snap), keys);
        assertThat(r.getArtifactSha256()).containsOnlyKeys("adapter_config.json", "adapter_model.safetensors", "release.json", "manifest.json");
        assertThat(r.getArtifactUri()).endsWith("/support/releases/v1");
        assertThat(ReleaseManifest.verify(r, keys.publicKey())).isTrue();
        assertThat(Path.of(URI.create(r.getArtifactUri())).resolve("training_log.jsonl")).doesNotExist();
    }

    @Test
    void aTamperedSnapshotIsNotReleased() throws Exception {
        StoredArtifact snap = snapshot("s1", false);
        Path weights = Path.of(snap.uri()).resolve("adapter_model.safetensors");
        byte[] b = Files.readAllBytes(weights);
        b[b.length - 1] ^= 1;
        Files.write(weights, b);
        assertThatThrownBy(() -> new ReleaseArtifacts(store).promote(draft("s1", "e1", 1, Instant.now()), snap.uri(), snap.sha256(), keys))
                .isInstanceOf(ArtifactVerificationException.class).hasMessageContaining("adapter_model.safetensors");
        assertThat(store.list("support/releases")).isEmpty();
    }

    @Test
    void anInterruptedReleaseIsResumedAndAnOrphanSkipped() throws Exception {
        StoredArtifact s1 = snapshot("s1", false);
        Instant first = Instant.parse("2026-01-01T00:00:00Z");
        AdapterRelease attempt = draft("s1", "e1", 1, first);
        new ReleaseArtifacts(store).promote(attempt, s1.uri(), s1.sha256(), keys);
        // The publisher stopped before its transaction committed; the replayed evaluation makes the same release.
        AdapterRelease again = draft("s1", "e1", 1, first.plusSeconds(600));
        new ReleaseArtifacts(store).promote(again, s1.uri(), s1.sha256(), keys);
        assertThat(again).isEqualTo(attempt);
        // A different snapshot decided as v1 later (the first was never published) cannot reuse the directory.
        StoredArtifact s2 = snapshot("s2", false);
        AdapterRelease other = draft("s2", "e2", 1, first.plusSeconds(1200));
        new ReleaseArtifacts(store).promote(other, s2.uri(), s2.sha256(), keys);
        assertThat(other.getVersion()).isEqualTo(2);
        assertThat(other.getArtifactUri()).endsWith("/support/releases/v2");
        assertThat(ReleaseManifest.verify(other, keys.publicKey())).isTrue();
    }
}
