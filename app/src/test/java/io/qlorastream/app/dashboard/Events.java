package io.qlorastream.app.dashboard;

import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.events.EvaluationCheck;
import io.qlorastream.events.LoraConfig;
import io.qlorastream.events.OffsetRange;
import io.qlorastream.events.ReleaseKind;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Realistic pipeline events for the dashboard's tests, shaped as trainer, evaluator and publisher write them. */
final class Events {
    static final Instant T0 = Instant.parse("2026-11-29T06:00:00Z");
    static final String SHA = "ab".repeat(32);

    private Events() {
    }

    static LoraConfig lora() {
        return LoraConfig.newBuilder().setR(8).setLoraAlpha(16).setLoraDropout(0.05).setUseRslora(false)
                .setTargetModules(List.of("q_proj", "v_proj")).build();
    }

    static AdapterSnapshot snapshot(String adapter, String id, String lineage, long step, double loss, OffsetRange... ranges) {
        return AdapterSnapshot.newBuilder()
                .setAdapterName(adapter).setSnapshotId(id).setLineageId(lineage).setStep(step)
                .setExamplesSeen(step * 8).setTokensSeen(step * 8 * 120).setTrainingLoss(loss)
                .setBaseModelName("tiny-llama").setBaseModelHash(SHA).setLoraConfig(lora())
                .setArtifactUri("file:/store/" + adapter + "/snapshots/" + id + "/")
                .setArtifactSha256(Map.of("adapter_model.safetensors", SHA, "adapter_config.json", SHA, "manifest.json", SHA))
                .setOffsetRanges(List.of(ranges)).setCreatedAt(T0.plusSeconds(step)).build();
    }

    static OffsetRange range(String topic, int partition, long from, long to) {
        return OffsetRange.newBuilder().setTopic(topic).setPartition(partition).setFromOffset(from).setToOffset(to).build();
    }

    static EvaluationCheck check(String name, double value, double threshold, boolean passed) {
        return EvaluationCheck.newBuilder().setName(name).setValue(value).setThreshold(threshold).setPassed(passed).build();
    }

    static AdapterEvaluation evaluation(AdapterSnapshot s, String id, Integer releaseVersion, String reason, EvaluationCheck... checks) {
        boolean passed = List.of(checks).stream().allMatch(EvaluationCheck::getPassed);
        return AdapterEvaluation.newBuilder()
                .setEvaluationId(id).setAdapterName(s.getAdapterName()).setSnapshotId(s.getSnapshotId()).setLineageId(s.getLineageId())
                .setStep(s.getStep()).setArtifactUri(s.getArtifactUri()).setArtifactSha256(s.getArtifactSha256())
                .setHeldoutSetHash(SHA).setHeldoutSetSize(64).setCurrentReleaseVersion(releaseVersion)
                .setMetrics(Map.of("candidate_nll", 2.1, "base_nll", 2.5, "leaks", 0.0))
                .setChecks(List.of(checks)).setPassed(passed).setReason(reason)
                .setEvaluatedAt(s.getCreatedAt().plusSeconds(5)).build();
    }

    static AdapterRelease release(AdapterEvaluation e, int version, ReleaseKind kind, Integer rolledBackFrom, Instant at) {
        return AdapterRelease.newBuilder()
                .setAdapterName(e.getAdapterName()).setVersion(version).setKind(kind).setRolledBackFromVersion(rolledBackFrom)
                .setSnapshotId(e.getSnapshotId()).setEvaluationId(e.getEvaluationId())
                .setArtifactUri("file:/store/" + e.getAdapterName() + "/releases/v" + version + "/")
                .setArtifactSha256(e.getArtifactSha256()).setSignature("c2lnbmF0dXJl").setPublicKeyId(SHA).setPublicKey("cHVibGlj")
                .setBaseModelName("tiny-llama").setBaseModelHash(SHA).setLoraConfig(lora()).setMetrics(e.getMetrics())
                .setReleasedAt(at).build();
    }
}
