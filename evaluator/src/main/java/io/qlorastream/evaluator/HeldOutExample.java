package io.qlorastream.evaluator;

/** One held-out example from {@code eval-examples}: already redacted by ingest. */
public record HeldOutExample(String exampleId, String prompt, String response) {
    public HeldOutExample {
        if (exampleId == null || prompt == null || response == null) {
            throw new IllegalArgumentException("a held-out example needs an id, a prompt and a response");
        }
    }
}
