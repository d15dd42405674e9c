package io.qlorastream.engine.data;

/** One training or evaluation example, in any of the three JSON Lines forms the engine reads. */
public sealed interface Example permits PromptResponse, ChatExample, PreTokenized {
}
