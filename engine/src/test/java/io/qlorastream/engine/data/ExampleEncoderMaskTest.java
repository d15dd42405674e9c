package io.qlorastream.engine.data;

import io.qlorastream.engine.tokenizer.ChatMessage;
import io.qlorastream.engine.tokenizer.RealTokenizers;
import io.qlorastream.engine.tokenizer.Tokenizer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * With each real tokenizer's own chat template, the tokens in the loss are exactly the last assistant turn's content
 * and the template's end-of-turn token: nothing of the prompt, the role header, a think block or the separator after.
 */
class ExampleEncoderMaskTest {
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"qwen3", "gemma3", "llama3_1"})
    void theLossCoversExactlyTheAssistantsTokens(String name) throws Exception {
        try (Tokenizer tokenizer = Tokenizer.load(RealTokenizers.dir(name))) {
            String endOfTurn = tokenizer.decodeWithSpecialTokens(new int[]{tokenizer.eosId()});
            ExampleEncoder encoder = new ExampleEncoder(tokenizer);
            String answer = "Restart the worker, then run `make check` again.\nIt passes now.";
            List<TokenizedExample> examples = List.of(
                    encoder.encode(new PromptResponse("Why does the build fail?", answer)),
                    encoder.encode(new ChatExample(List.of(new ChatMessage("system", "You are a build engineer."),
                            new ChatMessage("user", "Hi"), new ChatMessage("assistant", "Hello."),
                            new ChatMessage("user", "Why does the build fail?"), new ChatMessage("assistant", answer)))));
            for (TokenizedExample example : examples) {
                int[] masked = Arrays.stream(example.labels()).filter(l -> l != TokenizedExample.IGNORE).toArray();
                assertThat(tokenizer.decodeWithSpecialTokens(masked)).isEqualTo(answer + endOfTurn);
                // the masked-in tokens are one contiguous run at the same positions as the ids
                int first = 0;
                while (example.labels()[first] == TokenizedExample.IGNORE) {
                    first++;
                }
                assertThat(Arrays.copyOfRange(example.inputIds(), first, first + masked.length)).containsExactly(masked);
            }
        }
    }
}
