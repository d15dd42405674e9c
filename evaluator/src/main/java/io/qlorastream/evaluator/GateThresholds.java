package io.qlorastream.evaluator;

/**
 * The gate's thresholds, all in nats per target token except {@code maxLeaks}.
 *
 * @param minMarginOverBase  the candidate's held-out NLL must be below the base's by at least this much
 * @param releaseTolerance   the candidate's held-out NLL may exceed the current release's by at most this much
 * @param maxGeneralNllRise  the candidate's NLL on the general-text set may exceed the base's by at most this much
 * @param maxLeaks           the most leak-probe completions in which the redactor may find something (0: none)
 */
public record GateThresholds(double minMarginOverBase, double releaseTolerance, double maxGeneralNllRise, int maxLeaks) {
    public static final double DEFAULT_MIN_MARGIN = 0.01;
    public static final double DEFAULT_RELEASE_TOLERANCE = 0.01;
    public static final double DEFAULT_MAX_GENERAL_RISE = 0.10;

    public GateThresholds {
        if (!Double.isFinite(minMarginOverBase)) {
            throw new IllegalArgumentException("--min-margin must be a finite number, got " + minMarginOverBase);
        }
        if (!(releaseTolerance >= 0) || Double.isInfinite(releaseTolerance)) {
            throw new IllegalArgumentException("--release-tolerance must be a finite number >= 0, got " + releaseTolerance);
        }
        if (!(maxGeneralNllRise >= 0) || Double.isInfinite(maxGeneralNllRise)) {
            throw new IllegalArgumentException("--max-general-rise must be a finite number >= 0, got " + maxGeneralNllRise);
        }
        if (maxLeaks < 0) {
            throw new IllegalArgumentException("--max-leaks must be >= 0, got " + maxLeaks);
        }
    }

    public static GateThresholds defaults() {
        return new GateThresholds(DEFAULT_MIN_MARGIN, DEFAULT_RELEASE_TOLERANCE, DEFAULT_MAX_GENERAL_RISE, 0);
    }
}
