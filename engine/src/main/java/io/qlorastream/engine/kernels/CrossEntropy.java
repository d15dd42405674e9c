package io.qlorastream.engine.kernels;

import io.qlorastream.engine.compute.Backend;

/**
 * Softmax cross-entropy over the vocabulary for target tokens. Targets are already shifted (see {@link #shiftLabels}):
 * row t of the logits is scored against {@code targets[t]}; -100 means no target.
 */
public final class CrossEntropy {
    public static final int IGNORE = -100;

    private CrossEntropy() {
    }

    /**
     * The Hugging Face pairing: logits[t] predicts labels[t+1]. labels is [batch, seqLen]; the last position of every
     * row gets no target.
     */
    public static int[] shiftLabels(int[] labels, int batch, int seqLen) {
        int[] targets = new int[batch * seqLen];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < seqLen; t++) {
                targets[b * seqLen + t] = t + 1 < seqLen ? labels[b * seqLen + t + 1] : IGNORE;
            }
        }
        return targets;
    }

    /**
     * Writes {@code losses[i] = −log softmax(logits[i])[targets[i]]} (0 where there is no target) and leaves the
     * softmax probabilities in probs (which may be the logits array itself) for the backward.
     */
    public static void forward(Backend be, float[] losses, float[] probs, float[] logits, int[] targets, int n, int vocab) {
        be.parallelFor(n, i -> {
            int off = i * vocab;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < vocab; j++) {
                max = Math.max(max, logits[off + j]);
            }
            // one exponential per logit: e_j = exp(l_j − max) goes to probs (which may alias logits: l_j is read
            // first), then probs are scaled by 1/Σe; the loss needs only the target's logit, read before that
            int target = targets[i];
            float targetLogit = target >= 0 && target < vocab ? logits[off + target] : 0f;
            FastExp.exp(logits, off, 1f, -max, probs, off, vocab);
            double sum = FastExp.sum(probs, off, vocab);
            double logSum = max + Math.log(sum);
            if (target == IGNORE) {
                losses[i] = 0f;
            } else {
                if (target < 0 || target >= vocab) {
                    throw new IllegalArgumentException("label " + target + " outside the vocabulary [0, " + vocab + ")");
                }
                losses[i] = (float) (logSum - targetLogit);
            }
            float inv = (float) (1.0 / sum);
            for (int j = 0; j < vocab; j++) {
                probs[off + j] *= inv;
            }
        });
    }

    /**
     * {@code dlogits[i] = dloss[i] · (probs[i] − onehot(targets[i]))}, zero for rows without a target. Overwrites dlogits
     * (which may be the probs array itself). dloss is the weight of each row's loss, e.g. 1 / number of targets.
     */
    public static void backward(Backend be, float[] dlogits, float[] probs, int[] targets, float[] dloss, int n, int vocab) {
        be.parallelFor(n, i -> {
            int off = i * vocab;
            int target = targets[i];
            if (target == IGNORE) {
                java.util.Arrays.fill(dlogits, off, off + vocab, 0f);
                return;
            }
            if (target < 0 || target >= vocab) {
                throw new IllegalArgumentException("label " + target + " outside the vocabulary [0, " + vocab + ")");
            }
            float d = dloss[i];
            // the target's probability is read first (dlogits may be probs), the loop has no per-element test so it
            // vectorizes, and the target's entry gets its −1 afterwards: the same values as d · (p − onehot)
            float targetProb = probs[off + target];
            for (int j = 0; j < vocab; j++) {
                dlogits[off + j] = d * probs[off + j];
            }
            dlogits[off + target] = d * (targetProb - 1f);
        });
    }
}
