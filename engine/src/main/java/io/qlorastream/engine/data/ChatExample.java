package io.qlorastream.engine.data;

import io.qlorastream.engine.tokenizer.ChatMessage;

import java.util.List;

/** {@code {"messages": [{"role", "content"}, ...]}}: the last message, an assistant turn, is the target. */
public record ChatExample(List<ChatMessage> messages) implements Example {
    public ChatExample {
        messages = List.copyOf(messages);
        if (messages.isEmpty() || !messages.get(messages.size() - 1).role().equals("assistant")) {
            throw new IllegalArgumentException("the last message must be the assistant's (the training target)");
        }
    }
}
