package io.qlorastream.engine.model;

import io.qlorastream.engine.kernels.CrossEntropy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Mean negative log-likelihood per target token and perplexity, per example and overall (token-weighted). Targets
 * follow the Hugging Face convention: logits[t] is scored against labels[t+1], labels -100 are ignored.
 */
public final class Scorer {

    /** meanNll and perplexity are NaN when the example has no target token. */
    public record ExampleScore(int targetTokens, double meanNll, double perplexity) {
    }

    public record Result(List<ExampleScore> examples, long targetTokens, double meanNll, double perplexity) {
    }

    private final LlamaModel model;
    private final int batchSize;

    public Scorer(LlamaModel model, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
        }
        this.model = model;
        this.batchSize = batchSize;
    }

    /** inputIds.get(i) and labels.get(i) have the same length. */
    public Result score(List<int[]> inputIds, List<int[]> labels) {
        int vocab = model.config().vocabSize();
        List<ExampleScore> scores = new ArrayList<>();
        double totalNll = 0;
        long totalTargets = 0;
        for (int start = 0; start < inputIds.size(); start += batchSize) {
            int b = Math.min(batchSize, inputIds.size() - start);
            int t = 1;
            for (int i = 0; i < b; i++) {
                int[] ids = inputIds.get(start + i);
                if (ids.length != labels.get(start + i).length) {
                    throw new IllegalArgumentException("example " + (start + i + 1) + ": " + ids.length
                            + " input ids but " + labels.get(start + i).length + " labels");
                }
                t = Math.max(t, ids.length);
            }
            int[] tokens = new int[b * t];
            int[] mask = new int[b * t];
            int[] lab = new int[b * t];
            Arrays.fill(lab, CrossEntropy.IGNORE);
            for (int i = 0; i < b; i++) {
                int[] ids = inputIds.get(start + i);
                System.arraycopy(ids, 0, tokens, i * t, ids.length);
                System.arraycopy(labels.get(start + i), 0, lab, i * t, ids.length);
                Arrays.fill(mask, i * t, i * t + ids.length, 1);
            }
            LlamaModel.Activations acts = model.allocate(b, t, false);
            model.forward(acts, tokens, mask, b, t);
            int[] targets = CrossEntropy.shiftLabels(lab, b, t);
            float[] losses = new float[b * t];
            CrossEntropy.forward(model.backend(), losses, acts.logits, acts.logits, targets, b * t, vocab);
            for (int i = 0; i < b; i++) {
                double nll = 0;
                int n = 0;
                for (int p = 0; p < t; p++) {
                    if (targets[i * t + p] != CrossEntropy.IGNORE) {
                        nll += losses[i * t + p];
                        n++;
                    }
                }
                totalNll += nll;
                totalTargets += n;
                double mean = n == 0 ? Double.NaN : nll / n;
                scores.add(new ExampleScore(n, mean, Math.exp(mean)));
            }
        }
        double mean = totalTargets == 0 ? Double.NaN : totalNll / totalTargets;
        return new Result(scores, totalTargets, mean, Math.exp(mean));
    }
}
