package io.qlorastream.engine.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

public class ChatTemplateTest {
    /** The ChatML template as Qwen2 ships it (abridged to its logic). */
    public static final String CHATML = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
            + "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
            + "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    /** Meta-Llama-3-8B-Instruct's template (bos_token, the trim filter) with a raise_exception for unknown roles added. */
    static final String LLAMA3 = "{% set loop_messages = messages %}{% for message in loop_messages %}"
            + "{% if message['role'] not in ['system', 'user', 'assistant'] %}{{ raise_exception('unknown role ' + message['role']) }}{% endif %}"
            + "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}"
            + "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

    /** Mistral-7B-Instruct-v0.1's template, verbatim: bos_token, eos_token and raise_exception. */
    static final String MISTRAL = "{{ bos_token }}{% for message in messages %}"
            + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
            + "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
            + "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token + ' ' }}"
            + "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

    @Test
    void rendersMistralAndRaisesOnNonAlternatingRoles() {
        ChatTemplate t = new ChatTemplate(MISTRAL, "<s>", "</s>");
        assertThat(t.render(List.of(new ChatMessage("user", "Hi"), new ChatMessage("assistant", "Hello"),
                new ChatMessage("user", "Bye")), false)).isEqualTo("<s>[INST] Hi [/INST]Hello</s> [INST] Bye [/INST]");
        assertThatThrownBy(() -> t.render(List.of(new ChatMessage("user", "a"), new ChatMessage("user", "b")), false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Conversation roles must alternate");
    }

    @Test
    void blockTagsTrimTheirNewlineAsTransformersConfiguresJinja() {
        // transformers renders with trim_blocks=True and lstrip_blocks=True; multi-line templates depend on it
        ChatTemplate t = new ChatTemplate("{% for message in messages %}\n  {% if message['role'] == 'user' %}\n"
                + "Q: {{ message['content'] }}\n  {% else %}\nA: {{ message['content'] }}\n  {% endif %}\n{% endfor %}\n"
                + "{% if add_generation_prompt %}\nA:{% endif %}", null, null);
        assertThat(t.render(List.of(new ChatMessage("user", "1+1?"), new ChatMessage("assistant", "2"),
                new ChatMessage("user", "2+2?")), true)).isEqualTo("Q: 1+1?\nA: 2\nQ: 2+2?\nA:");
    }

    @Test
    void rendersChatMlWithAndWithoutTheGenerationPrompt() {
        ChatTemplate t = new ChatTemplate(CHATML, null, "<|im_end|>");
        List<ChatMessage> msgs = List.of(new ChatMessage("user", "Hi"), new ChatMessage("assistant", "Hello!"));
        assertThat(t.render(msgs.subList(0, 1), true)).isEqualTo(
                "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
        assertThat(t.render(msgs, false)).isEqualTo(
                "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n");
    }

    @Test
    void rendersLlama3WithBosTokenAndTrim() {
        ChatTemplate t = new ChatTemplate(LLAMA3, "<|begin_of_text|>", "<|eot_id|>");
        assertThat(t.render(List.of(new ChatMessage("user", "  Hi  ")), true)).isEqualTo(
                "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void raiseExceptionBecomesAnErrorWithTheTemplatesMessage() {
        ChatTemplate t = new ChatTemplate(LLAMA3, "<|begin_of_text|>", "<|eot_id|>");
        assertThatThrownBy(() -> t.render(List.of(new ChatMessage("robot", "beep")), true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown role robot");
    }

    @Test
    void theTokenizerReadsTheTemplateFromTokenizerConfig(@TempDir Path dir) throws Exception {
        ByteLevelBpeWriter.write(dir, 400);
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(dir.resolve("tokenizer_config.json").toFile());
        config.put("chat_template", CHATML);
        json.writeValue(dir.resolve("tokenizer_config.json").toFile(), config);
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertThat(t.hasChatTemplate()).isTrue();
            assertThat(t.applyChatTemplate(List.of(new ChatMessage("user", "x")), true)).endsWith("<|im_start|>assistant\n");
        }
    }
}
