package io.qlorastream.engine.data;

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
