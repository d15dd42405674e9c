package io.qlorastream.publisher;

import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.AdapterRelease;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;

/**
 * Decides what one evaluation becomes, from the release state alone (so a replay decides the same):
 * <ol>
 *   <li>an evaluation or snapshot already released is a duplicate: nothing is published;</li>
 *   <li>a failing evaluation is refused;</li>
 *   <li>a release within {@code minInterval} of the current one is refused;</li>
 *   <li>when the adapter has a current release, the evaluation must have compared against that very version
 *       ({@code current_release_version}); a comparison with an older or no release says nothing about the current
 *       one and is refused; and the gain {@code current_release_nll - candidate_nll} must be at least
 *       {@code minGain};</li>
 *   <li>otherwise it becomes the next version: one more than the highest ever released for the adapter.</li>
 * </ol>
 */
public final class ReleasePolicy {
    public static final String CANDIDATE_NLL = "candidate_nll";
    public static final String CURRENT_RELEASE_NLL = "current_release_nll";

    private final double minGain;
    private final Duration minInterval;

    public ReleasePolicy(double minGain, Duration minInterval) {
        this.minGain = minGain;
        this.minInterval = minInterval;
    }

    /** The verdict on one evaluation. */
    public sealed interface Decision {
        /** Publish as this version. */
        record Release(int version) implements Decision {
        }

        /** Already released: the duplicate is dropped silently but for a log line. */
        record Duplicate(int version, String reason) implements Decision {
        }

        /** Not released, with why. */
        record Refused(String reason) implements Decision {
        }
    }

    public Decision decide(AdapterEvaluation e, Optional<ReleaseState.AdapterState> adapter, Instant now) {
        if (adapter.isPresent()) {
            ReleaseState.AdapterState a = adapter.get();
            Optional<Integer> byEval = a.versionOfEvaluation(e.getEvaluationId());
            if (byEval.isPresent()) {
                return new Decision.Duplicate(byEval.get(), "evaluation " + e.getEvaluationId() + " already released as v" + byEval.get());
            }
            Optional<Integer> bySnap = a.versionOfSnapshot(e.getSnapshotId());
            if (bySnap.isPresent()) {
                return new Decision.Duplicate(bySnap.get(), "snapshot " + e.getSnapshotId() + " already released as v" + bySnap.get());
            }
        }
        if (!e.getPassed()) {
            return new Decision.Refused("evaluation failed: " + e.getReason());
        }
        Optional<AdapterRelease> current = adapter.flatMap(ReleaseState.AdapterState::current);
        if (current.isPresent()) {
            AdapterRelease cur = current.get();
            Duration since = Duration.between(cur.getReleasedAt(), now);
            if (since.compareTo(minInterval) < 0) {
                return new Decision.Refused("v" + cur.getVersion() + " was released " + since.toSeconds() + " s ago, min interval is "
                        + minInterval.toSeconds() + " s");
            }
            Integer compared = e.getCurrentReleaseVersion();
            if (compared == null || compared != cur.getVersion()) {
                return new Decision.Refused("evaluated against " + (compared == null ? "no release" : "v" + compared)
                        + " but the current release is v" + cur.getVersion());
            }
            Double candidate = e.getMetrics().get(CANDIDATE_NLL);
            Double released = e.getMetrics().get(CURRENT_RELEASE_NLL);
            if (candidate == null || released == null) {
                return new Decision.Refused("metrics " + CANDIDATE_NLL + " and " + CURRENT_RELEASE_NLL + " are needed to measure the gain over v"
                        + cur.getVersion());
            }
            double gain = released - candidate;
            if (!(gain >= minGain)) {
                return new Decision.Refused(String.format(Locale.ROOT, "gain over v%d is %.6f nats/token, min gain is %.6f",
                        cur.getVersion(), gain, minGain));
            }
        }
        int next = adapter.map(ReleaseState.AdapterState::maxVersion).orElse(0) + 1;
        return new Decision.Release(next);
    }
}
