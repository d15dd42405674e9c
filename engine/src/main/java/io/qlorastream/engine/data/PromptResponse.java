package io.qlorastream.engine.data;

/** {@code {"prompt": ..., "response": ...}}: the response is the target. */
public record PromptResponse(String prompt, String response) implements Example {
    public PromptResponse {
        if (prompt == null || response == null) {
            throw new IllegalArgumentException("a prompt/response example needs both a prompt and a response");
        }
    }
}
