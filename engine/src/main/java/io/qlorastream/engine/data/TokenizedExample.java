package io.qlorastream.engine.data;

import java.util.Arrays;

/**
 * Token ids and labels of the same length. {@code labels[t]} is the target at position t or {@link #IGNORE}; the
 * model predicts token t+1 from position t, so the loss pairs logits[t] with labels[t+1] (Hugging Face's shift).
 */
public record TokenizedExample(int[] inputIds, int[] labels) {
    public static final int IGNORE = -100;

    public TokenizedExample {
        if (inputIds.length != labels.length) {
            throw new IllegalArgumentException("input_ids has " + inputIds.length + " tokens but labels has " + labels.length);
        }
    }

    public int length() {
        return inputIds.length;
    }

    /** This example cut to its first {@code maxTokens} tokens and labels; itself when it is no longer. */
    public TokenizedExample truncate(int maxTokens) {
        if (maxTokens < 0) throw new IllegalArgumentException("maxTokens must be >= 0, got " + maxTokens);
        return inputIds.length <= maxTokens ? this
                : new TokenizedExample(Arrays.copyOf(inputIds, maxTokens), Arrays.copyOf(labels, maxTokens));
    }

    /** Tokens that count in the loss. */
    public int targetCount() {
        int n = 0;
        for (int i = 1; i < labels.length; i++) {
            if (labels[i] != IGNORE) {
                n++;
            }
        }
        return n;
    }
}
