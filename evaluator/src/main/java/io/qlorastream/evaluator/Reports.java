package io.qlorastream.evaluator;

import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.EvaluationCheck;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The human-readable report of one evaluation: what the service logs and {@code evaluate} prints. */
public final class Reports {
    private Reports() {
    }

    public static List<String> lines(AdapterEvaluation e) {
        List<String> out = new ArrayList<>();
        out.add(String.format(Locale.ROOT, "evaluation %s of %s snapshot %s (lineage %s, step %d): %s",
                e.getEvaluationId(), e.getAdapterName(), e.getSnapshotId(), e.getLineageId(), e.getStep(),
                e.getPassed() ? "PASSED" : "FAILED"));
        out.add("  artifact " + e.getArtifactUri());
        out.add(String.format(Locale.ROOT, "  held-out set %s (%d examples)%s", e.getHeldoutSetHash(), e.getHeldoutSetSize(),
                e.getCurrentReleaseVersion() == null ? ", no current release" : ", compared with release v" + e.getCurrentReleaseVersion()));
        out.add("  metrics:");
        for (Map.Entry<String, Double> m : e.getMetrics().entrySet()) {
            out.add(String.format(Locale.ROOT, "    %-24s %s", m.getKey(), number(m.getValue())));
        }
        out.add("  checks:");
        for (EvaluationCheck c : e.getChecks()) {
            out.add(String.format(Locale.ROOT, "    %-4s %-24s value %-12s threshold %s", c.getPassed() ? "ok" : "FAIL",
                    c.getName(), number(c.getValue()), number(c.getThreshold())));
        }
        out.add("  reason: " + e.getReason());
        return out;
    }

    public static String text(AdapterEvaluation e) {
        return String.join(System.lineSeparator(), lines(e));
    }

    private static String number(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return Double.toString(v);
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e12) {
            return Long.toString((long) v);
        }
        return String.format(Locale.ROOT, "%.4f", v);
    }
}
