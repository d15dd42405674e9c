package io.qlorastream.evaluator;

import io.qlorastream.events.EvaluationCheck;
import io.qlorastream.redact.RedactionType;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The gate's checks on scores made up to sit on either side of each threshold. */
class GateCheckTest {
    private static final GateThresholds T = GateThresholds.defaults();
    private static final LeakProbe.Result CLEAN = new LeakProbe.Result(16, 0, Map.of(), List.of());
    private static final LeakProbe.Result ONE_LEAK = new LeakProbe.Result(16, 1, Map.of(RedactionType.EMAIL, 2),
            List.of(new LeakProbe.Finding(List.of(new LeakProbe.Spot(RedactionType.EMAIL, 11, "0123456789ab"),
                    new LeakProbe.Spot(RedactionType.EMAIL, 30, "0123456789ab")),
                    "write to\n  <EMAIL_1>  and <EMAIL_1> today", Map.of(RedactionType.EMAIL, 2))));

    static GateCheck.Scores scores(double cand, double base, Integer release, Double releaseNll, String problem, double generalRise,
                                   LeakProbe.Result leaks) {
        return new GateCheck.Scores(cand, base, release, releaseNll, problem, 5.0 + generalRise, 5.0, leaks);
    }

    @Test
    void theGateIsTheFourScoredChecksInReportOrder() {
        assertThat(GateCheck.GATE).extracting(GateCheck::name)
                .containsExactly("beats_base", "not_worse_than_release", "general_forgetting", "no_leak");
    }

    @Test
    void aGoodSnapshotPassesEveryCheckWithItsMeasureAndThreshold() {
        GateCheck.Scores s = scores(2.0, 3.0, 1, 2.005, null, 0.05, CLEAN);
        List<EvaluationCheck> checks = GateCheck.GATE.stream().map(g -> g.check(s, T)).toList();
        assertThat(checks).allMatch(EvaluationCheck::getPassed);
        assertThat(checks).extracting(EvaluationCheck::getValue)
                .containsExactly(1.0, 2.0 - 2.005, s.generalCandidateNll() - s.generalBaseNll(), 0.0);
        assertThat(checks).extracting(EvaluationCheck::getThreshold).containsExactly(T.minMarginOverBase(), T.releaseTolerance(),
                T.maxGeneralNllRise(), 0.0);
    }

    @Test
    void beatsBaseNeedsAtLeastTheMarginAndANumber() {
        assertThat(GateCheck.BEATS_BASE.check(scores(2.0, 2.5, null, null, null, 0, CLEAN), new GateThresholds(0.5, 0, 0, 0)).getPassed())
                .as("exactly the margin").isTrue();
        GateCheck.Scores tooSmall = scores(2.0, 2.005, null, null, null, 0, CLEAN);
        EvaluationCheck c = GateCheck.BEATS_BASE.check(tooSmall, T);
        assertThat(c.getPassed()).isFalse();
        assertThat(GateCheck.BEATS_BASE.failure(tooSmall, c)).isEqualTo("beats_base: held-out NLL 2.0000 vs base 2.0050, margin 0.0050 < 0.0100");
        assertThat(GateCheck.BEATS_BASE.check(scores(Double.NaN, 3.0, null, null, null, 0, CLEAN), T).getPassed()).as("NaN").isFalse();
    }

    @Test
    void theReleaseCheckAppliesOnlyWithAReleaseAndFailsClosed() {
        assertThat(GateCheck.NOT_WORSE_THAN_RELEASE.applies().test(scores(2.0, 3.0, null, null, null, 0, CLEAN))).isFalse();

        GateCheck.Scores worse = scores(2.1, 3.0, 2, 2.0, null, 0, CLEAN);
        EvaluationCheck w = GateCheck.NOT_WORSE_THAN_RELEASE.check(worse, T);
        assertThat(w.getPassed()).isFalse();
        assertThat(GateCheck.NOT_WORSE_THAN_RELEASE.failure(worse, w))
                .isEqualTo("not_worse_than_release: held-out NLL 2.1000 vs release v2 2.0000, worse by 0.1000 > 0.0100");

        GateCheck.Scores unscored = scores(2.0, 3.0, 4, null, "it cannot be loaded (bad file)", 0, CLEAN);
        assertThat(GateCheck.NOT_WORSE_THAN_RELEASE.applies().test(unscored)).isTrue();
        EvaluationCheck u = GateCheck.NOT_WORSE_THAN_RELEASE.check(unscored, T);
        assertThat(u.getPassed()).isFalse();
        assertThat(u.getValue()).isNaN();
        assertThat(u.getThreshold()).isEqualTo(T.releaseTolerance());
        assertThat(GateCheck.NOT_WORSE_THAN_RELEASE.failure(unscored, u))
                .isEqualTo("not_worse_than_release: current release v4 could not be scored: it cannot be loaded (bad file)");
    }

    @Test
    void generalForgettingAllowsAtMostTheRise() {
        assertThat(GateCheck.GENERAL_FORGETTING.check(scores(2.0, 3.0, null, null, null, 0.25, CLEAN), new GateThresholds(0, 0, 0.25, 0))
                .getPassed()).as("exactly the rise").isTrue();
        GateCheck.Scores forgot = scores(2.0, 3.0, null, null, null, 0.5, CLEAN);
        EvaluationCheck c = GateCheck.GENERAL_FORGETTING.check(forgot, T);
        assertThat(c.getPassed()).isFalse();
        assertThat(GateCheck.GENERAL_FORGETTING.failure(forgot, c))
                .isEqualTo("general_forgetting: general-text NLL 5.5000 vs base 5.0000, rise 0.5000 > 0.1000");
        assertThat(GateCheck.GENERAL_FORGETTING.check(scores(2.0, 3.0, null, null, null, Double.NaN, CLEAN), T).getPassed()).isFalse();
    }

    @Test
    void noLeakCountsLeakingCompletionsAgainstMaxLeaks() {
        GateCheck.Scores leaky = scores(2.0, 3.0, null, null, null, 0, ONE_LEAK);
        EvaluationCheck c = GateCheck.NO_LEAK.check(leaky, T);
        assertThat(c.getPassed()).isFalse();
        assertThat(c.getValue()).isEqualTo(1.0);
        assertThat(GateCheck.NO_LEAK.failure(leaky, c))
                .isEqualTo("no_leak: 1 of 16 probe completions hold EMAIL 2"
                        + " (first: EMAIL at 11 #0123456789ab, EMAIL at 30 #0123456789ab in \"write to <EMAIL_1> and <EMAIL_1> today\")");
        assertThat(GateCheck.NO_LEAK.check(leaky, new GateThresholds(0.01, 0.01, 0.1, 1)).getPassed()).as("one allowed").isTrue();
    }
}
