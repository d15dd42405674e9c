package io.qlorastream.evaluator;

import io.qlorastream.schemas.OneLine;
import io.qlorastream.events.EvaluationCheck;

import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;

/**
 * One check of the gate on a scored snapshot: a measure of its {@link Scores}, compared with a threshold taken from
 * {@link GateThresholds} (at least it, or at most it: a NaN measure fails either way), and the message that says why
 * it failed. {@link #GATE} is the gate, in the order its checks are reported.
 */
public record GateCheck(String name, ToDoubleFunction<Scores> measure, ToDoubleFunction<GateThresholds> threshold, boolean atLeast,
                        Predicate<Scores> applies, Function<Failed, String> message) {

    /**
     * What the checks measure: held-out NLL of candidate and base (and of the current release: {@code releaseVersion}
     * null when the adapter has none, {@code releaseNll} null when it could not be scored, then {@code releaseProblem}
     * says why), general-text NLL of candidate and base, and the leak probe's result.
     */
    public record Scores(double candidateNll, double baseNll, Integer releaseVersion, Double releaseNll, String releaseProblem,
                         double generalCandidateNll, double generalBaseNll, LeakProbe.Result leaks) {
    }

    /** A failed check's inputs, for its message. */
    public record Failed(Scores scores, double value, double threshold) {
    }

    public static final GateCheck BEATS_BASE = new GateCheck(SnapshotEvaluator.CHECK_BEATS_BASE,
            s -> s.baseNll() - s.candidateNll(), GateThresholds::minMarginOverBase, true, s -> true,
            f -> String.format(Locale.ROOT, "held-out NLL %.4f vs base %.4f, margin %.4f < %.4f",
                    f.scores().candidateNll(), f.scores().baseNll(), f.value(), f.threshold()));

    /** Only when there is a release; one that could not be scored fails it (fail closed). */
    public static final GateCheck NOT_WORSE_THAN_RELEASE = new GateCheck(SnapshotEvaluator.CHECK_RELEASE,
            s -> s.releaseNll() == null ? Double.NaN : s.candidateNll() - s.releaseNll(), GateThresholds::releaseTolerance, false,
            s -> s.releaseVersion() != null,
            f -> f.scores().releaseNll() == null
                    ? "current release v" + f.scores().releaseVersion() + " could not be scored: " + f.scores().releaseProblem()
                    : String.format(Locale.ROOT, "held-out NLL %.4f vs release v%d %.4f, worse by %.4f > %.4f", f.scores().candidateNll(),
                    f.scores().releaseVersion(), f.scores().releaseNll(), f.value(), f.threshold()));

    public static final GateCheck GENERAL_FORGETTING = new GateCheck(SnapshotEvaluator.CHECK_GENERAL,
            s -> s.generalCandidateNll() - s.generalBaseNll(), GateThresholds::maxGeneralNllRise, false, s -> true,
            f -> String.format(Locale.ROOT, "general-text NLL %.4f vs base %.4f, rise %.4f > %.4f",
                    f.scores().generalCandidateNll(), f.scores().generalBaseNll(), f.value(), f.threshold()));

    public static final GateCheck NO_LEAK = new GateCheck(SnapshotEvaluator.CHECK_NO_LEAK,
            s -> s.leaks().leakingCompletions(), GateThresholds::maxLeaks, false, s -> true,
            f -> {
                LeakProbe.Result r = f.scores().leaks();
                String types = r.byType().entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", "));
                // the spots and the redacted completion only: the reason goes to a topic, the dashboard and the logs
                LeakProbe.Finding first = r.findings().get(0);
                String spots = first.spots().stream().limit(4).map(LeakProbe.Spot::toString).collect(Collectors.joining(", "))
                        + (first.spots().size() > 4 ? ", ..." : "");
                return r.leakingCompletions() + " of " + r.prompts() + " probe completions hold " + types
                        + " (first: " + spots + " in \"" + OneLine.of(first.redactedCompletion(), 120) + "\")";
            });

    public static final List<GateCheck> GATE = List.of(BEATS_BASE, NOT_WORSE_THAN_RELEASE, GENERAL_FORGETTING, NO_LEAK);

    /** The check's verdict on scores: value, threshold, passed. */
    public EvaluationCheck check(Scores s, GateThresholds t) {
        double value = measure.applyAsDouble(s);
        double limit = threshold.applyAsDouble(t);
        boolean passed = atLeast ? value >= limit : value <= limit;
        return EvaluationCheck.newBuilder().setName(name).setValue(value).setThreshold(limit).setPassed(passed).build();
    }

    /** Why a failed check failed, as the verdict's reason names it: {@code "<name>: <message>"}. */
    public String failure(Scores s, EvaluationCheck failed) {
        return name + ": " + message.apply(new Failed(s, failed.getValue(), failed.getThreshold()));
    }

}
