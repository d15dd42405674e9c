package io.qlorastream.engine.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qlorastream.engine.tokenizer.ByteLevelBpeWriter;
import io.qlorastream.engine.tokenizer.ChatMessage;
import io.qlorastream.engine.tokenizer.ChatTemplateTest;
import io.qlorastream.engine.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ExamplesTest {

    @Test
    void readsTheThreeFormsAndSkipsBlankLines(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("d.jsonl"), String.join("\n",
                "{\"prompt\": \"What is 2+2?\", \"response\": \"4\"}",
                "",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello\"}]}",
                "{\"input_ids\": [1, 5, 6, 7], \"labels\": [-100, -100, 6, 7]}",
                ""));
        List<Example> ex = JsonlExamples.read(f);
        assertThat(ex).hasSize(3);
        assertThat(ex.get(0)).isEqualTo(new PromptResponse("What is 2+2?", "4"));
        assertThat(((ChatExample) ex.get(1)).messages()).containsExactly(
                new ChatMessage("user", "Hi"), new ChatMessage("assistant", "Hello"));
        assertThat(((PreTokenized) ex.get(2)).labels()).containsExactly(-100, -100, 6, 7);
    }

    @Test
    void aBadLineIsNamedByFileAndLineNumber(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("bad.jsonl"),
                "{\"prompt\": \"a\", \"response\": \"b\"}\n{\"prompt\": \"a\"\n");
        assertThatThrownBy(() -> JsonlExamples.read(f))
                .isInstanceOf(JsonlExamples.ExampleFormatException.class)
                .hasMessageStartingWith(f + ":2: not valid JSON");

        Path g = Files.writeString(dir.resolve("g.jsonl"), "{\"input_ids\": [1, 2], \"labels\": [1]}\n");
        assertThatThrownBy(() -> JsonlExamples.read(g)).hasMessage(g + ":1: labels has 1 entries but input_ids has 2");

        Path h = Files.writeString(dir.resolve("h.jsonl"), "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}\n");
        assertThatThrownBy(() -> JsonlExamples.read(h)).hasMessageContaining(h + ":1: the last message must be the assistant's");

        Path l = Files.writeString(dir.resolve("l.jsonl"), "\n\n{\"input_ids\": [1, 2], \"labels\": [-1, 2]}\n");
        assertThatThrownBy(() -> JsonlExamples.read(l))
                .hasMessage(l + ":3: \"labels\"[0] is -1; only -100 (ignored) may be negative");

        Path i = Files.writeString(dir.resolve("i.jsonl"), "{\"text\": \"x\"}\n");
        assertThatThrownBy(() -> JsonlExamples.read(i)).hasMessageStartingWith(i + ":1: expected {");
    }

    @Test
    void withoutATemplateTheTargetIsTheResponseAndEosOnly(@TempDir Path dir) throws Exception {
        ByteLevelBpeWriter.write(dir, 1000);
        try (Tokenizer t = Tokenizer.load(dir)) {
            ExampleEncoder enc = new ExampleEncoder(t);
            TokenizedExample e = enc.encode(new PromptResponse("Reset my password", "Use the login page."));
            int[] prompt = enc.encodePrompt("Reset my password");
            int[] response = t.encode("Use the login page.");

            assertThat(prompt[0]).isEqualTo(t.bosId());
            assertThat(Arrays.copyOfRange(prompt, 1, prompt.length))
                    .isEqualTo(t.encode("### Instruction:\nReset my password\n\n### Response:\n"));
            assertThat(e.length()).isEqualTo(prompt.length + response.length + 1);
            assertThat(Arrays.copyOfRange(e.inputIds(), 0, prompt.length)).isEqualTo(prompt);
            assertThat(Arrays.copyOfRange(e.labels(), 0, prompt.length)).containsOnly(TokenizedExample.IGNORE);
            assertThat(Arrays.copyOfRange(e.labels(), prompt.length, prompt.length + response.length)).isEqualTo(response);
            assertThat(e.inputIds()[e.length() - 1]).isEqualTo(2);
            assertThat(e.labels()[e.length() - 1]).isEqualTo(2);
            assertThat(e.targetCount()).isEqualTo(response.length + 1);
            assertThat(t.decode(e.inputIds())).isEqualTo("### Instruction:\nReset my password\n\n### Response:\nUse the login page.");
        }
    }

    @Test
    void withAChatTemplateTheAssistantTurnIsTheTarget(@TempDir Path dir) throws Exception {
        ByteLevelBpeWriter.write(dir, 1000);
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(dir.resolve("tokenizer_config.json").toFile());
        config.put("chat_template", ChatTemplateTest.CHATML);
        json.writeValue(dir.resolve("tokenizer_config.json").toFile(), config);
        try (Tokenizer t = Tokenizer.load(dir)) {
            ExampleEncoder enc = new ExampleEncoder(t);
            TokenizedExample e = enc.encode(new ChatExample(List.of(
                    new ChatMessage("user", "Hi"), new ChatMessage("assistant", "Hello!"))));
            int[] prompt = enc.encodePrompt("Hi");
            assertThat(Arrays.copyOfRange(e.inputIds(), 0, prompt.length)).isEqualTo(prompt);
            int[] target = Arrays.copyOfRange(e.labels(), prompt.length, e.length());
            assertThat(t.decode(target)).isEqualTo("Hello!<|im_end|>\n");
            assertThat(Arrays.copyOfRange(e.labels(), 0, prompt.length)).containsOnly(TokenizedExample.IGNORE);
        }
    }

    @Test
    void preTokenizedExamplesPassThroughWhenTheirIdsAreInTheVocabulary(@TempDir Path dir) throws Exception {
        ByteLevelBpeWriter.write(dir, 300);
        try (Tokenizer t = Tokenizer.load(dir)) {
            ExampleEncoder enc = new ExampleEncoder(t);
            TokenizedExample e = enc.encode(new PreTokenized(new int[]{1, 2, 299}, new int[]{-100, 2, 299}));
            assertThat(e.inputIds()).containsExactly(1, 2, 299);
            assertThat(e.labels()).containsExactly(-100, 2, 299);
            assertThat(e.targetCount()).isEqualTo(2);
            assertThatThrownBy(() -> enc.encode(new PreTokenized(new int[]{1, 300}, new int[]{-100, 300})))
                    .hasMessage("input_ids[1] = 300 is outside the vocabulary of 300 tokens");
        }
    }

    @Test
    void aChatExampleWithoutATemplateUsesTheEarlierTurnsAsThePrompt(@TempDir Path dir) throws Exception {
        ByteLevelBpeWriter.write(dir, 500);
        try (Tokenizer t = Tokenizer.load(dir)) {
            ExampleEncoder enc = new ExampleEncoder(t);
            TokenizedExample e = enc.encode(new ChatExample(List.of(new ChatMessage("system", "Be brief."),
                    new ChatMessage("user", "Hi"), new ChatMessage("assistant", "Hello"))));
            int[] prompt = enc.encodePrompt("system: Be brief.\nuser: Hi");
            assertThat(Arrays.copyOfRange(e.inputIds(), 0, prompt.length)).isEqualTo(prompt);
            int[] target = Arrays.copyOfRange(e.labels(), prompt.length, e.length());
            assertThat(target[target.length - 1]).isEqualTo(t.eosId());
            assertThat(t.decode(target)).isEqualTo("Hello");
        }
    }

    @Test
    void truncateCutsIdsAndLabelsTogetherAndKeepsShortExamples() {
        TokenizedExample e = new TokenizedExample(new int[]{1, 5, 6, 7}, new int[]{-100, -100, 6, 7});
        TokenizedExample cut = e.truncate(3);
        assertThat(cut.inputIds()).containsExactly(1, 5, 6);
        assertThat(cut.labels()).containsExactly(-100, -100, 6);
        assertThat(e.inputIds()).containsExactly(1, 5, 6, 7);
        assertThat(e.truncate(4)).isSameAs(e);
        assertThat(e.truncate(9)).isSameAs(e);
        assertThatThrownBy(() -> e.truncate(-1)).hasMessage("maxTokens must be >= 0, got -1");
    }
}
