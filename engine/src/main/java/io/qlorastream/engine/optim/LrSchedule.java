package io.qlorastream.engine.optim;

import java.util.Locale;

/**
 * Learning-rate schedules with linear warmup, as Hugging Face transformers' {@code get_*_schedule_with_warmup}
 * computes them: the rate of the step that follows {@code completedSteps} optimizer steps is
 * {@code peakLr · factor(completedSteps)}, so with warmup the first step runs at rate 0, as in HF.
 *
 * @param totalSteps optimizer steps of the run (needed by linear and cosine; ignored by constant)
 */
public record LrSchedule(Kind kind, double peakLr, int warmupSteps, long totalSteps) {
    public enum Kind {
        CONSTANT, LINEAR, COSINE;

        public static Kind parse(String name) {
            try {
                return valueOf(name.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown learning-rate schedule '" + name + "' (expected constant, linear or cosine)");
            }
        }
    }

    public LrSchedule {
        if (!(peakLr >= 0) || Double.isInfinite(peakLr)) {
            throw new IllegalArgumentException("learning rate must be a non-negative number, got " + peakLr);
        }
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("warmup steps must not be negative, got " + warmupSteps);
        }
        if (kind != Kind.CONSTANT && totalSteps <= 0) {
            throw new IllegalArgumentException(kind.name().toLowerCase(Locale.ROOT) + " schedule needs a positive number of total steps, got " + totalSteps);
        }
    }

    /** QLoRA's schedule: constant 2e-4 after a linear warmup over 3% of the steps. */
    public static LrSchedule qlora(long totalSteps) {
        return new LrSchedule(Kind.CONSTANT, 2e-4, warmupSteps(0, 0.03, totalSteps), totalSteps);
    }

    /** HF's rule: {@code warmupSteps} when positive, else {@code ceil(totalSteps · warmupRatio)}. */
    public static int warmupSteps(int warmupSteps, double warmupRatio, long totalSteps) {
        if (warmupSteps > 0) {
            return warmupSteps;
        }
        if (!(warmupRatio >= 0 && warmupRatio <= 1)) {
            throw new IllegalArgumentException("warmup ratio must be in [0, 1], got " + warmupRatio);
        }
        return (int) Math.ceil(totalSteps * warmupRatio);
    }

    /** The multiplier of {@link #peakLr} after {@code completedSteps} optimizer steps. */
    public double factor(long completedSteps) {
        if (completedSteps < warmupSteps) {
            return (double) completedSteps / Math.max(1, warmupSteps);
        }
        return switch (kind) {
            case CONSTANT -> 1.0;
            case LINEAR -> Math.max(0.0, (double) (totalSteps - completedSteps) / Math.max(1, totalSteps - warmupSteps));
            case COSINE -> {
                double progress = (double) (completedSteps - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
                yield Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * 0.5 * 2.0 * progress)));
            }
        };
    }

    /** The learning rate of the optimizer step that follows {@code completedSteps} steps. */
    public double lr(long completedSteps) {
        return peakLr * factor(completedSteps);
    }
}
