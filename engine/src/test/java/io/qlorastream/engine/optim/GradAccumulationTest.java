package io.qlorastream.engine.optim;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * A per-token loss l = ½(w·x − y)² over micro-batches with unequal target counts: weighting every token by
 * {@code tokenWeight()} of the whole step makes the accumulated gradient and loss those of one batch of all tokens.
 */
class GradAccumulationTest {
    static final int DIM = 4;

    @Test
    void accumulatedMicroBatchesEqualOneLargeBatch() {
        Random rnd = new Random(3);
        float[] w = {0.5f, -0.25f, 1f, 0.1f};
        int[][] labelsPerMicroBatch = {{7, -100, 3, 4}, {-100, -100, 9}, {1, 2, 3, 4, 5, 6}};
        float[][][] xs = new float[3][][];
        float[][] ys = new float[3][];
        int total = 0;
        for (int b = 0; b < 3; b++) {
            int n = labelsPerMicroBatch[b].length;
            xs[b] = new float[n][DIM];
            ys[b] = new float[n];
            for (int t = 0; t < n; t++) {
                for (int d = 0; d < DIM; d++) {
                    xs[b][t][d] = (float) rnd.nextGaussian();
                }
                ys[b][t] = (float) rnd.nextGaussian();
            }
            total += GradAccumulation.countTargets(labelsPerMicroBatch[b], 0, n);
        }
        assertThat(total).isEqualTo(3 + 1 + 6);

        GradAccumulation acc = new GradAccumulation(total);
        float[] grad = new float[DIM];
        for (int b = 0; b < 3; b++) {
            double lossSum = 0;
            for (int t = 0; t < xs[b].length; t++) {
                if (labelsPerMicroBatch[b][t] == GradAccumulation.IGNORE_INDEX) {
                    continue;
                }
                float err = dot(w, xs[b][t]) - ys[b][t];
                lossSum += 0.5 * err * err;
                for (int d = 0; d < DIM; d++) {
                    grad[d] += acc.tokenWeight() * err * xs[b][t][d];
                }
            }
            acc.add(lossSum, GradAccumulation.countTargets(labelsPerMicroBatch[b], 0, xs[b].length));
        }
        assertThat(acc.complete()).isTrue();

        // one batch of all target tokens, mean in double
        double loss = 0;
        double[] full = new double[DIM];
        double[] naive = new double[DIM]; // mean of per-micro-batch means: what must NOT happen
        for (int b = 0; b < 3; b++) {
            int nb = GradAccumulation.countTargets(labelsPerMicroBatch[b], 0, xs[b].length);
            for (int t = 0; t < xs[b].length; t++) {
                if (labelsPerMicroBatch[b][t] == -100) {
                    continue;
                }
                double err = dot(w, xs[b][t]) - ys[b][t];
                loss += 0.5 * err * err / total;
                for (int d = 0; d < DIM; d++) {
                    full[d] += err * xs[b][t][d] / total;
                    naive[d] += err * xs[b][t][d] / nb / 3;
                }
            }
        }
        assertThat(acc.meanLoss()).isCloseTo(loss, within(1e-6));
        double naiveDistance = 0;
        for (int d = 0; d < DIM; d++) {
            assertThat((double) grad[d]).isCloseTo(full[d], within(1e-6));
            naiveDistance = Math.max(naiveDistance, Math.abs(naive[d] - full[d]));
        }
        assertThat(naiveDistance).isGreaterThan(1e-3);
    }

    static float dot(float[] a, float[] b) {
        float s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }
}
