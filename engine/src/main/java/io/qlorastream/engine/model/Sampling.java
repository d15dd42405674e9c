package io.qlorastream.engine.model;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * How the next token is chosen: greedy (temperature 0) or sampled from softmax(logits / temperature) restricted to the
 * smallest set of most likely tokens whose probability reaches topP (nucleus sampling), with a seeded generator.
 */
public record Sampling(double temperature, double topP, long seed) {
    public Sampling {
        if (temperature < 0) {
            throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        }
        if (topP <= 0 || topP > 1) {
            throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        }
    }

    public static Sampling greedy() {
        return new Sampling(0, 1, 0);
    }

    /** A stateful picker for one generation. */
    public Picker picker() {
        return new Picker(this);
    }

    public static final class Picker {
        private final Sampling s;
        private final SplittableRandom random;

        Picker(Sampling s) {
            this.s = s;
            this.random = new SplittableRandom(s.seed);
        }

        public int pick(float[] logits, int vocab) {
            if (s.temperature == 0) {
                return argmax(logits, vocab);
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < vocab; j++) {
                max = Math.max(max, logits[j]);
            }
            double[] p = new double[vocab];
            double sum = 0;
            for (int j = 0; j < vocab; j++) {
                p[j] = Math.exp((logits[j] - max) / s.temperature);
                sum += p[j];
            }
            Integer[] order = new Integer[vocab];
            for (int j = 0; j < vocab; j++) {
                order[j] = j;
                p[j] /= sum;
            }
            Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]) != 0 ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
            int keep = 0;
            double mass = 0;
            while (keep < vocab && (keep == 0 || mass < s.topP)) {
                mass += p[order[keep++]];
            }
            double r = random.nextDouble() * mass;
            double acc = 0;
            for (int i = 0; i < keep; i++) {
                acc += p[order[i]];
                if (r < acc) {
                    return order[i];
                }
            }
            return order[keep - 1];
        }
    }

    public static int argmax(float[] logits, int vocab) {
        int best = 0;
        for (int j = 1; j < vocab; j++) {
            if (logits[j] > logits[best]) {
                best = j;
            }
        }
        return best;
    }
}
