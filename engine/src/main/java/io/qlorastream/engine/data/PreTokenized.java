package io.qlorastream.engine.data;

/** {@code {"input_ids": [...], "labels": [...]}}: labels of -100 are ignored (Hugging Face's convention). */
public record PreTokenized(int[] inputIds, int[] labels) implements Example {
    public PreTokenized {
        if (inputIds.length != labels.length) {
            throw new IllegalArgumentException("labels has " + labels.length + " entries but input_ids has " + inputIds.length);
        }
    }
}
