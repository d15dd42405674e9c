package io.qlorastream.publisher.subscriber;

import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.events.LoraConfig;
import io.qlorastream.events.ReleaseKind;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Each serving target against a recording server that answers as the real one does, errors and downtime included. */
class ServingTargetsTest {
    private static final Backoff FAST = new Backoff(5, Duration.ofMillis(50), Duration.ofMillis(400));

    @TempDir
    Path root;
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final List<String> outcomes = new ArrayList<>();

    @BeforeEach
    void bindMeters() {
        Metrics.addRegistry(meters);
    }

    @AfterEach
    void unbindMeters() {
        Metrics.removeRegistry(meters);
    }

    private ServingSwitch serving(ServingTarget t) {
        return new ServingSwitch(t, FAST, (r, o, d) -> outcomes.add(r.getVersion() + " " + o + (d == null ? "" : ": " + d)));
    }

    private double count(String target, String outcome) {
        var c = meters.find("qlora.subscriber.switches").tags("target", target, "outcome", outcome).counter();
        return c == null ? 0 : c.count();
    }

    static AdapterRelease release(int version) {
        return AdapterRelease.newBuilder().setAdapterName("support").setVersion(version).setKind(ReleaseKind.RELEASE).setSnapshotId("s")
                .setEvaluationId("e").setArtifactUri("u").setArtifactSha256(Map.of()).setSignature("x").setPublicKeyId("k").setPublicKey("p")
                .setBaseModelName("b").setBaseModelHash("h")
                .setLoraConfig(LoraConfig.newBuilder().setR(1).setLoraAlpha(1).setTargetModules(List.of()).build())
                .setMetrics(Map.of()).setReleasedAt(Instant.now()).build();
    }

    private Path version(int v, String config) throws Exception {
        Path d = Files.createDirectories(root.resolve("support/v" + v));
        Files.writeString(d.resolve("adapter_config.json"), config);
        Files.write(d.resolve("adapter_model.safetensors"), new byte[]{(byte) v, 1, 2, 3});
        return d;
    }

    private Path version(int v) throws Exception {
        return version(v, "{\"peft_type\":\"LORA\",\"base_model_name_or_path\":\"tiny-model\",\"use_dora\":false,\"modules_to_save\":null}");
    }

    @Test
    void vllmLoadsTheNewVersionThenUnloadsTheOldAndTakesItsAlreadyLoadedAnswersAsDone() throws Exception {
        try (RecordingServer vllm = new RecordingServer(RecordingServer.Kind.VLLM); ServingSwitch s = serving(new VllmTarget(vllm.url()))) {
            Path v1 = version(1), v2 = version(2);
            s.installed(release(1), v1, null);
            s.installed(release(2), v2, 1);
            assertThat(vllm.calls()).containsExactly(
                    "/v1/load_lora_adapter {\"lora_name\":\"support-v1\",\"lora_path\":\"" + v1.toAbsolutePath() + "\"}",
                    "/v1/load_lora_adapter {\"lora_name\":\"support-v2\",\"lora_path\":\"" + v2.toAbsolutePath() + "\"}",
                    "/v1/unload_lora_adapter {\"lora_name\":\"support-v1\"}");
            assertThat(vllm.loaded()).containsOnlyKeys("support-v2");
            // A restarted subscriber sends v2 again: vLLM's 400 "has already been loaded" means it is served.
            s.installed(release(2), v2, 2);
            assertThat(vllm.calls()).hasSize(4);
            assertThat(outcomes).containsExactly("1 SWITCHED", "2 SWITCHED", "2 SWITCHED");
            assertThat(count("vllm", "switched")).isEqualTo(3);
        }
    }

    @Test
    void vllmAdaptersItRejectsAreNotSent() throws Exception {
        try (RecordingServer vllm = new RecordingServer(RecordingServer.Kind.VLLM); ServingSwitch s = serving(new VllmTarget(vllm.url()))) {
            s.installed(release(1), version(1, "{\"use_dora\":true}"), null);
            s.installed(release(2), version(2, "{\"modules_to_save\":[\"lm_head\"]}"), null);
            assertThat(vllm.calls()).isEmpty();
            assertThat(outcomes).containsExactly("1 UNSUPPORTED: it is a DoRA adapter (use_dora), which vLLM does not serve",
                    "2 UNSUPPORTED: modules_to_save [\"lm_head\"] is not empty, which vLLM does not serve");
            assertThat(count("vllm", "unsupported")).isEqualTo(2);
        }
    }

    @Test
    void vllmStableNameIsReloadedInPlaceAndLaidOutForTheFilesystemResolver() throws Exception {
        Path resolver = root.resolve("resolver");
        try (RecordingServer vllm = new RecordingServer(RecordingServer.Kind.VLLM);
             ServingSwitch s = serving(new VllmTarget(vllm.url(), "{adapter}-prod", "served-base", resolver))) {
            s.installed(release(1), version(1), null);
            s.installed(release(2), version(2), 1);
            Path e2 = resolver.resolve("support-v2").toAbsolutePath();
            assertThat(vllm.calls()).containsExactly(
                    "/v1/load_lora_adapter {\"load_inplace\":true,\"lora_name\":\"support-prod\",\"lora_path\":\"" + resolver.resolve("support-v1").toAbsolutePath() + "\"}",
                    "/v1/load_lora_adapter {\"load_inplace\":true,\"lora_name\":\"support-prod\",\"lora_path\":\"" + e2 + "\"}");
            assertThat(vllm.loaded()).containsExactly(Map.entry("support-prod", e2.toString()));
            // What vLLM's filesystem resolver checks: <dir>/<name>/adapter_config.json, peft_type LORA, the served base name.
            assertThat(Files.readString(e2.resolve("adapter_config.json"))).contains("\"base_model_name_or_path\" : \"served-base\"", "\"peft_type\" : \"LORA\"");
            assertThat(Files.readAllBytes(e2.resolve("adapter_model.safetensors"))).containsExactly(2, 1, 2, 3);
            assertThat(Files.readSymbolicLink(resolver.resolve("support-prod"))).isEqualTo(Path.of("support-v2"));
            assertThat(Files.readString(resolver.resolve("support-prod/adapter_config.json"))).contains("served-base");
            assertThat(Files.readString(root.resolve("support/v2/adapter_config.json"))).as("the verified files are not touched").contains("tiny-model");
        }
    }

    @Test
    void vllmWithoutInPlaceLoadingGetsTheStableNameUnloadedAndLoaded() throws Exception {
        try (RecordingServer vllm = new RecordingServer(RecordingServer.Kind.VLLM_WITHOUT_INPLACE);
             ServingSwitch s = serving(new VllmTarget(vllm.url(), "support", null, null))) {
            Path v1 = version(1), v2 = version(2);
            s.installed(release(1), v1, null);
            s.installed(release(2), v2, 1);
            assertThat(vllm.calls()).hasSize(4).endsWith(
                    "/v1/unload_lora_adapter {\"lora_name\":\"support\"}",
                    "/v1/load_lora_adapter {\"lora_name\":\"support\",\"lora_path\":\"" + v2.toAbsolutePath() + "\"}");
            assertThat(vllm.loaded()).containsExactly(Map.entry("support", v2.toAbsolutePath().toString()));
        }
    }

    @Test
    void aServerThatIsDownThenUpIsRetriedWithBackoff() throws Exception {
        try (RecordingServer vllm = new RecordingServer(RecordingServer.Kind.VLLM); ServingSwitch s = serving(new VllmTarget(vllm.url()))) {
            vllm.stop();
            Thread up = new Thread(() -> {
                try {
                    Thread.sleep(300);
                    vllm.start();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            up.start();
            s.installed(release(1), version(1), null);
            up.join();
            assertThat(vllm.loaded()).containsOnlyKeys("support-v1");
            assertThat(outcomes).containsExactly("1 SWITCHED");
            assertThat(meters.get("qlora.subscriber.switch.retries").tag("target", "vllm").counter().count()).isGreaterThanOrEqualTo(1);
        }
    }

    @Test
    void aServerThatKeepsRefusingFailsTheSwitchAndKeepsServingTheOldVersion() throws Exception {
        try (RecordingServer vllm = new RecordingServer(RecordingServer.Kind.VLLM); ServingSwitch s = serving(new VllmTarget(vllm.url()))) {
            s.installed(release(1), version(1), null);
            vllm.refuseNextLoads(100);
            s.installed(release(2), version(2), 1);
            assertThat(vllm.calls()).hasSize(1 + FAST.attempts()).allMatch(c -> c.startsWith("/v1/load_lora_adapter"));
            assertThat(vllm.loaded()).containsOnlyKeys("support-v1");
            assertThat(outcomes).last().asString().startsWith("2 FAILED: after 5 tries: vLLM /v1/load_lora_adapter of support-v2 answered 500 ");
            assertThat(count("vllm", "failed")).isEqualTo(1);
        }
    }

    @Test
    void sglangLoadsThenUnloadsAndRetriesItsSuccessFalseAnswers() throws Exception {
        try (RecordingServer sglang = new RecordingServer(RecordingServer.Kind.SGLANG); ServingSwitch s = serving(new SglangTarget(sglang.url()))) {
            Path v1 = version(1), v2 = version(2);
            s.installed(release(1), v1, null);
            sglang.refuseNextLoads(2); // {"success": false, "error_message": "CUDA out of memory"} twice
            s.installed(release(2), v2, 1);
            assertThat(sglang.calls()).containsExactly(
                    "/load_lora_adapter {\"lora_name\":\"support-v1\",\"lora_path\":\"" + v1.toAbsolutePath() + "\"}",
                    "/load_lora_adapter {\"lora_name\":\"support-v2\",\"lora_path\":\"" + v2.toAbsolutePath() + "\"}",
                    "/load_lora_adapter {\"lora_name\":\"support-v2\",\"lora_path\":\"" + v2.toAbsolutePath() + "\"}",
                    "/load_lora_adapter {\"lora_name\":\"support-v2\",\"lora_path\":\"" + v2.toAbsolutePath() + "\"}",
                    "/unload_lora_adapter {\"lora_name\":\"support-v1\"}");
            assertThat(sglang.loaded()).containsOnlyKeys("support-v2");
            // Already loaded / already unloaded answers (a restarted subscriber) are no failure.
            s.installed(release(2), v2, 1);
            assertThat(outcomes).containsExactly("1 SWITCHED", "2 SWITCHED", "2 SWITCHED");
            assertThat(meters.get("qlora.subscriber.switch.retries").tag("target", "sglang").counter().count()).isEqualTo(2);
        }
    }

    @Test
    void llamaCppRunsTheHookWithTheGgufPathRetriesItAndRefusesAReleaseWithoutGguf() throws Exception {
        Path log = root.resolve("hook.log");
        Path failOnce = Files.createFile(root.resolve("fail-once"));
        String hook = "if [ -e '" + failOnce + "' ]; then rm '" + failOnce + "'; echo restart failed; exit 3; fi; "
                + "echo \"$QLORA_ADAPTER_NAME $QLORA_ADAPTER_VERSION $QLORA_REPLACED_VERSION $QLORA_ADAPTER_GGUF\" >> '" + log + "'";
        try (ServingSwitch s = serving(new LlamaCppTarget(hook))) {
            Path v1 = version(1);
            s.installed(release(1), v1, null);
            assertThat(outcomes).containsExactly("1 UNSUPPORTED: release support v1 has no GGUF form (adapter.gguf)");
            assertThat(log).doesNotExist();
            Path v2 = version(2);
            Files.write(v2.resolve(LlamaCppTarget.GGUF_FILE), new byte[]{'G', 'G', 'U', 'F'});
            s.installed(release(2), v2, 1);
            assertThat(Files.readAllLines(log)).containsExactly("support 2 1 " + v2.resolve("adapter.gguf").toAbsolutePath());
            assertThat(outcomes).last().isEqualTo("2 SWITCHED");
            assertThat(meters.get("qlora.subscriber.switch.retries").tag("target", "llamacpp").counter().count()).isEqualTo(1);
        }
        try (ServingSwitch s = serving(new LlamaCppTarget("echo no server; exit 7"))) {
            Path v3 = version(3);
            Files.write(v3.resolve(LlamaCppTarget.GGUF_FILE), new byte[]{'G', 'G', 'U', 'F'});
            s.installed(release(3), v3, 2);
            assertThat(outcomes).last().isEqualTo("3 FAILED: after 5 tries: --on-switch exited 7: no server");
        }
    }
}
