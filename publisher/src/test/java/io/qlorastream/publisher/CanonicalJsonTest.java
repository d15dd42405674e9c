package io.qlorastream.publisher;

import io.qlorastream.events.AdapterRelease;
import io.qlorastream.events.LoraConfig;
import io.qlorastream.events.ReleaseKind;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The exact bytes that are signed: pinned (the long decimals are Python's {@code format(Decimal(x), "f")}), so a change of the serialization cannot pass unnoticed. */
class CanonicalJsonTest {

    @Test
    void sortsKeysEscapesStringsAndWritesExactNumbers() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("z", 1);
        m.put("a", List.of(true, false));
        m.put("é", "quote \" backslash \\ tab \t nl \n bell \u0007 snow ☃");
        m.put("B", null);
        m.put("d", Map.of("y", 16.0, "x", 0.05, "w", -0.0, "v", 1e-7, "u", 3_000_000_000L));
        assertThat(CanonicalJson.string(m)).isEqualTo("{\"B\":null,\"a\":[true,false],"
                + "\"d\":{\"u\":3000000000,\"v\":0.0000000999999999999999954748111825886258685613938723690807819366455078125,"
                + "\"w\":0,\"x\":0.05000000000000000277555756156289135105907917022705078125,\"y\":16},"
                + "\"z\":1,\"é\":\"quote \\\" backslash \\\\ tab \\t nl \\n bell \\u0007 snow ☃\"}");
        assertThat(CanonicalJson.bytes(Map.of("k", "☃"))).isEqualTo("{\"k\":\"☃\"}".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void refusesWhatHasNoCanonicalForm() {
        assertThatThrownBy(() -> CanonicalJson.bytes(Map.of("x", Double.NaN))).hasMessageContaining("not a finite number");
        assertThatThrownBy(() -> CanonicalJson.bytes(Map.of(1, "x"))).hasMessageContaining("not a string");
    }

    @Test
    void theSignedManifestOfAReleaseIsPinned() {
        AdapterRelease r = AdapterRelease.newBuilder().setAdapterName("support").setVersion(3).setKind(ReleaseKind.ROLLBACK)
                .setRolledBackFromVersion(4).setSnapshotId("s-1").setEvaluationId("e-1").setArtifactUri("file:///store/support/releases/v3/")
                .setArtifactSha256(Map.of("adapter_model.safetensors", "aa", "adapter_config.json", "bb", "manifest.json", "cc",
                        "release.json", "dd"))
                .setSignature("").setPublicKeyId("kid").setPublicKey("pk").setBaseModelName("tiny").setBaseModelHash("hh")
                .setLoraConfig(LoraConfig.newBuilder().setR(8).setLoraAlpha(16.0).setLoraDropout(0.0).setUseRslora(true)
                        .setTargetModules(Arrays.asList("q_proj", "v_proj")).build())
                .setMetrics(Map.of("candidate_nll", 1.5)).setReleasedAt(Instant.ofEpochMilli(1767225600123L)).build();
        assertThat(new String(ReleaseManifest.signedBytes(r), StandardCharsets.UTF_8)).isEqualTo(
                "{\"adapter_name\":\"support\",\"base_model_hash\":\"hh\",\"base_model_name\":\"tiny\",\"evaluation_id\":\"e-1\","
                        + "\"files\":{\"adapter_config.json\":\"bb\",\"adapter_model.safetensors\":\"aa\"},"
                        + "\"format\":\"qlora-stream-release/1\",\"kind\":\"ROLLBACK\","
                        + "\"lora_config\":{\"lora_alpha\":16,\"lora_dropout\":0,\"r\":8,\"target_modules\":[\"q_proj\",\"v_proj\"],\"use_rslora\":true},"
                        + "\"public_key_id\":\"kid\",\"released_at\":1767225600123,\"rolled_back_from_version\":4,\"snapshot_id\":\"s-1\",\"version\":3}");
    }
}
