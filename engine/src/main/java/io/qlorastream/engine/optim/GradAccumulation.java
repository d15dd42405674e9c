package io.qlorastream.engine.optim;

/**
 * Loss bookkeeping of one optimizer step made of several micro-batches. The step's loss is the mean over every
 * target token of all its micro-batches (not the mean of per-micro-batch means), so k accumulated micro-batches
 * equal one batch k times larger. Each micro-batch's backward therefore seeds the gradient of a token's
 * cross-entropy with {@link #tokenWeight()} = 1 / (target tokens of the whole step), and the gradients of the
 * micro-batches simply add up.
 */
public final class GradAccumulation {
    /** The label of a position that is not scored (Hugging Face's ignore index). */
    public static final int IGNORE_INDEX = -100;

    private final long targetTokens;
    private double lossSum;
    private long tokensSeen;

    /** @param targetTokens target tokens of all micro-batches of the step (see {@link #countTargets}) */
    public GradAccumulation(long targetTokens) {
        if (targetTokens < 0) {
            throw new IllegalArgumentException("target token count must not be negative, got " + targetTokens);
        }
        this.targetTokens = targetTokens;
    }

    /** Positions {@code [from, to)} of {@code labels} that are scored (label ≠ −100). */
    public static int countTargets(int[] labels, int from, int to) {
        int n = 0;
        for (int i = from; i < to; i++) {
            if (labels[i] != IGNORE_INDEX) {
                n++;
            }
        }
        return n;
    }

    public long targetTokens() {
        return targetTokens;
    }

    /** d(step loss)/d(token loss) for every target token: 1 / targetTokens, or 0 for a step without targets. */
    public float tokenWeight() {
        return targetTokens == 0 ? 0f : (float) (1.0 / targetTokens);
    }

    /** Records a micro-batch's summed token losses and its number of target tokens. */
    public void add(double microBatchLossSum, long microBatchTargets) {
        lossSum += microBatchLossSum;
        tokensSeen += microBatchTargets;
        if (tokensSeen > targetTokens) {
            throw new IllegalStateException("micro-batches brought " + tokensSeen + " target tokens, the step was declared with "
                    + targetTokens);
        }
    }

    /** True once the micro-batches added carry all the step's target tokens. */
    public boolean complete() {
        return tokensSeen == targetTokens;
    }

    /** The step's loss: summed token losses / target tokens (NaN for a step without targets). */
    public double meanLoss() {
        return targetTokens == 0 ? Double.NaN : lossSum / targetTokens;
    }
}
