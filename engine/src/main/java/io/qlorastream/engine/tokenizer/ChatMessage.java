package io.qlorastream.engine.tokenizer;

/** One turn of a conversation, as chat templates see it: role ("system", "user", "assistant"...) and content. */
public record ChatMessage(String role, String content) {
    public ChatMessage {
        if (role == null || role.isBlank()) {
            throw new IllegalArgumentException("a chat message needs a role");
        }
        if (content == null) {
            throw new IllegalArgumentException("chat message of role " + role + " has no content");
        }
    }
}
