package io.qlorastream.engine.train;

import io.qlorastream.engine.data.TokenizedExample;
import io.qlorastream.engine.lora.Rng;

import java.util.ArrayList;
import java.util.List;

/** Training examples of random tokens for the trainer tests. */
public final class RandomExamples {
    private RandomExamples() {
    }

    /**
     * {@code count} examples of 5 to 10 random tokens below {@code vocab} (different lengths: micro-batches are padded),
     * the first two of each a "prompt" that is not scored (label -100); the same for the same seed.
     */
    public static List<TokenizedExample> of(int count, int vocab, long seed) {
        Rng rng = new Rng(seed);
        List<TokenizedExample> examples = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int n = 5 + rng.nextInt(6);
            int[] ids = new int[n];
            int[] labels = new int[n];
            for (int t = 0; t < n; t++) {
                ids[t] = rng.nextInt(vocab);
                labels[t] = t < 2 ? -100 : ids[t];
            }
            examples.add(new TokenizedExample(ids, labels));
        }
        return examples;
    }
}
