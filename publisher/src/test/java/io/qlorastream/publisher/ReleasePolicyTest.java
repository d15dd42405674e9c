package io.qlorastream.publisher;

import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.events.LoraConfig;
import io.qlorastream.events.ReleaseKind;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The release policy on hand-made state: what passes, what is refused, and why. */
class ReleasePolicyTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    private static AdapterEvaluation eval(String id, String snapshot, boolean passed, Integer compared, double candidate, Double release) {
        Map<String, Double> metrics = new HashMap<>(Map.of("candidate_nll", candidate));
        if (release != null) {
            metrics.put("current_release_nll", release);
        }
        return AdapterEvaluation.newBuilder().setEvaluationId(id).setAdapterName("a").setSnapshotId(snapshot).setLineageId("l").setStep(1)
                .setArtifactUri("file:///x/").setArtifactSha256(Map.of()).setHeldoutSetHash("h").setHeldoutSetSize(1)
                .setCurrentReleaseVersion(compared).setMetrics(metrics).setChecks(List.of()).setPassed(passed).setReason("r")
                .setEvaluatedAt(T0).build();
    }

    private static AdapterRelease release(int version, ReleaseKind kind, String eval, String snapshot, Instant at) {
        return AdapterRelease.newBuilder().setAdapterName("a").setVersion(version).setKind(kind).setSnapshotId(snapshot)
                .setEvaluationId(eval).setArtifactUri("u").setArtifactSha256(Map.of()).setSignature("s").setPublicKeyId("k").setPublicKey("p")
                .setBaseModelName("b").setBaseModelHash("h")
                .setLoraConfig(LoraConfig.newBuilder().setR(1).setLoraAlpha(1).setTargetModules(List.of()).build())
                .setMetrics(Map.of()).setReleasedAt(at).build();
    }

    @Test
    void theFirstPassingEvaluationIsV1AndAFailingOneIsRefused() {
        ReleasePolicy p = new ReleasePolicy(0.05, Duration.ofMinutes(10));
        ReleaseState s = new ReleaseState();
        assertThat(p.decide(eval("e1", "s1", true, null, 2.0, null), s.adapter("a"), T0)).isEqualTo(new ReleasePolicy.Decision.Release(1));
        assertThat(p.decide(eval("e1", "s1", false, null, 2.0, null), s.adapter("a"), T0))
                .isEqualTo(new ReleasePolicy.Decision.Refused("evaluation failed: r"));
    }

    @Test
    void minGainMinIntervalAndTheComparedVersionAreEnforced() {
        ReleasePolicy p = new ReleasePolicy(0.05, Duration.ofMinutes(10));
        ReleaseState s = new ReleaseState();
        s.apply(release(1, ReleaseKind.RELEASE, "e1", "s1", T0));
        s.apply(release(2, ReleaseKind.RELEASE, "e2", "s2", T0.plusSeconds(3600)));
        Instant later = T0.plusSeconds(7200);
        assertThat(p.decide(eval("e3", "s3", true, 2, 1.90, 2.0), s.adapter("a"), later)).isEqualTo(new ReleasePolicy.Decision.Release(3));
        assertThat(p.decide(eval("e3", "s3", true, 2, 1.97, 2.0), s.adapter("a"), later))
                .isEqualTo(new ReleasePolicy.Decision.Refused("gain over v2 is 0.030000 nats/token, min gain is 0.050000"));
        assertThat(p.decide(eval("e3", "s3", true, 2, 1.0, 2.0), s.adapter("a"), T0.plusSeconds(3600 + 60)))
                .isEqualTo(new ReleasePolicy.Decision.Refused("v2 was released 60 s ago, min interval is 600 s"));
        assertThat(p.decide(eval("e3", "s3", true, 1, 1.0, 2.0), s.adapter("a"), later))
                .isEqualTo(new ReleasePolicy.Decision.Refused("evaluated against v1 but the current release is v2"));
        assertThat(p.decide(eval("e3", "s3", true, null, 1.0, null), s.adapter("a"), later))
                .isEqualTo(new ReleasePolicy.Decision.Refused("evaluated against no release but the current release is v2"));
        assertThat(p.decide(eval("e3", "s3", true, 2, 1.0, null), s.adapter("a"), later))
                .isInstanceOf(ReleasePolicy.Decision.Refused.class);
    }

    @Test
    void duplicatesAreKnownByEvaluationAndBySnapshotAndVersionsCountOnAfterARollback() {
        ReleasePolicy p = new ReleasePolicy(0, Duration.ZERO);
        ReleaseState s = new ReleaseState();
        s.apply(release(1, ReleaseKind.RELEASE, "e1", "s1", T0));
        s.apply(release(2, ReleaseKind.RELEASE, "e2", "s2", T0.plusSeconds(1)));
        s.apply(release(1, ReleaseKind.ROLLBACK, "e1", "s1", T0.plusSeconds(2)));
        assertThat(p.decide(eval("e2", "s2", true, 1, 1.0, 2.0), s.adapter("a"), T0.plusSeconds(3)))
                .isEqualTo(new ReleasePolicy.Decision.Duplicate(2, "evaluation e2 already released as v2"));
        assertThat(p.decide(eval("e9", "s2", true, 1, 1.0, 2.0), s.adapter("a"), T0.plusSeconds(3)))
                .isEqualTo(new ReleasePolicy.Decision.Duplicate(2, "snapshot s2 already released as v2"));
        assertThat(p.decide(eval("e3", "s3", true, 1, 1.0, 2.0), s.adapter("a"), T0.plusSeconds(3)))
                .isEqualTo(new ReleasePolicy.Decision.Release(3));
        assertThat(s.adapter("a").orElseThrow().previousVersion()).isEmpty(); // v1 is current: nothing older
    }
}
