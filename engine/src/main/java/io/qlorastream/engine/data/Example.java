package io.qlorastream.engine.data;

import io.qlorastream.engine.tokenizer.ChatMessage;

import java.util.List;

/** One training or evaluation example, in any of the three JSON Lines forms the engine reads. */
public sealed interface Example permits Example.PromptResponse, Example.Chat, Example.PreTokenized {

    /** {@code {"prompt": ..., "response": ...}}: the response is the target. */
    record PromptResponse(String prompt, String response) implements Example {
    }

    /** {@code {"messages": [{"role", "content"}, ...]}}: the last message, an assistant turn, is the target. */
    record Chat(List<ChatMessage> messages) implements Example {
        public Chat {
            messages = List.copyOf(messages);
        }
    }

    /** {@code {"input_ids": [...], "labels": [...]}}: labels of -100 are ignored (Hugging Face's convention). */
    record PreTokenized(int[] inputIds, int[] labels) implements Example {
    }
}
