package io.qlorastream.engine.data;

import io.qlorastream.engine.tokenizer.ChatMessage;
import io.qlorastream.engine.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Turns examples into token ids and labels. The prompt and the target are encoded separately, so the boundary
 * between them never falls inside a token, and only the target (and its end token) counts in the loss.
 *
 * <p>Without a chat template: {@code bos + enc("### Instruction:\n" + prompt + "\n\n### Response:\n") +
 * enc(response) + eos}; a chat example without a template puts its earlier turns, one {@code role: content} line
 * each, in the place of the prompt. With a template: the template rendered with {@code add_generation_prompt} over
 * the turns before the last is the prompt, and the rest of the full conversation's rendering is the target: the
 * assistant's content and the template's own end-of-turn token (an eos id); what the template writes after that token
 * (ChatML's newline) stays in the ids but out of the loss. Templates render with {@code enable_thinking=false}: the
 * targets carry no reasoning, so Qwen3's and SmolLM3's empty think block belongs to the prompt. Labels equal the input
 * ids on target positions and -100 elsewhere; the model shifts them (Hugging Face's convention).
 */
public final class ExampleEncoder {
    public static final String INSTRUCTION_PREFIX = "### Instruction:\n";
    public static final String RESPONSE_PREFIX = "\n\n### Response:\n";

    /** Extra chat-template variables: no reasoning turn before the answer (Qwen3, SmolLM3). */
    public static final Map<String, Object> TEMPLATE_KWARGS = Map.of("enable_thinking", false);

    private final Tokenizer tokenizer;

    public ExampleEncoder(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    public TokenizedExample encode(Example example) {
        if (example instanceof PreTokenized p) {
            checkIds(p.inputIds(), "input_ids", false);
            checkIds(p.labels(), "labels", true);
            return new TokenizedExample(p.inputIds().clone(), p.labels().clone());
        }
        if (example instanceof PromptResponse pr) {
            return tokenizer.hasChatTemplate()
                    ? encodeChat(List.of(new ChatMessage("user", pr.prompt()), new ChatMessage("assistant", pr.response())))
                    : join(encodePrompt(pr.prompt()), tokenizer.encode(pr.response()), true);
        }
        ChatExample c = (ChatExample) example;
        List<ChatMessage> context = c.messages().subList(0, c.messages().size() - 1);
        ChatMessage target = c.messages().get(c.messages().size() - 1);
        return tokenizer.hasChatTemplate()
                ? encodeChat(c.messages())
                : join(encodePrompt(plainConversation(context)), tokenizer.encode(target.content()), true);
    }

    /** Prompt-only ids, ready for generation: what the model sees before the response. */
    public int[] encodePrompt(String prompt) {
        if (tokenizer.hasChatTemplate()) {
            return tokenizer.encode(tokenizer.applyChatTemplate(List.of(new ChatMessage("user", prompt)), true, TEMPLATE_KWARGS));
        }
        int[] body = tokenizer.encode(INSTRUCTION_PREFIX + prompt + RESPONSE_PREFIX);
        Integer bos = tokenizer.bosId();
        if (bos == null) {
            return body;
        }
        int[] out = new int[body.length + 1];
        out[0] = bos;
        System.arraycopy(body, 0, out, 1, body.length);
        return out;
    }

    private TokenizedExample encodeChat(List<ChatMessage> messages) {
        List<ChatMessage> context = messages.subList(0, messages.size() - 1);
        String promptText = tokenizer.applyChatTemplate(context, true, TEMPLATE_KWARGS);
        String fullText = tokenizer.applyChatTemplate(messages, false, TEMPLATE_KWARGS);
        if (!fullText.startsWith(promptText)) {
            throw new IllegalArgumentException("the chat template renders the conversation differently with and without "
                    + "its last turn; cannot separate the target");
        }
        int[] prompt = tokenizer.encode(promptText);
        int[] target = tokenizer.encode(fullText.substring(promptText.length()));
        TokenizedExample example = join(prompt, target, false);
        for (int i = 0; i < target.length; i++) {
            if (tokenizer.eosIds().contains(target[i])) {
                // the turn ends here; the template's separator after it is context, not response
                Arrays.fill(example.labels(), prompt.length + i + 1, example.labels().length, TokenizedExample.IGNORE);
                break;
            }
        }
        return example;
    }

    private TokenizedExample join(int[] prompt, int[] target, boolean appendEos) {
        Integer eos = appendEos ? tokenizer.eosId() : null;
        int n = prompt.length + target.length + (eos == null ? 0 : 1);
        int[] ids = new int[n];
        int[] labels = new int[n];
        System.arraycopy(prompt, 0, ids, 0, prompt.length);
        Arrays.fill(labels, 0, prompt.length, TokenizedExample.IGNORE);
        System.arraycopy(target, 0, ids, prompt.length, target.length);
        System.arraycopy(target, 0, labels, prompt.length, target.length);
        if (eos != null) {
            ids[n - 1] = eos;
            labels[n - 1] = eos;
        }
        return new TokenizedExample(ids, labels);
    }

    /** Pre-tokenized ids must exist in this model's vocabulary (labels may also be -100). */
    private void checkIds(int[] ids, String field, boolean ignoreAllowed) {
        int vocab = tokenizer.vocabSize();
        for (int i = 0; i < ids.length; i++) {
            if ((ids[i] < 0 || ids[i] >= vocab) && !(ignoreAllowed && ids[i] == TokenizedExample.IGNORE)) {
                throw new IllegalArgumentException(field + "[" + i + "] = " + ids[i] + " is outside the vocabulary of "
                        + vocab + " tokens");
            }
        }
    }

    private static String plainConversation(List<ChatMessage> messages) {
        List<String> lines = new ArrayList<>();
        for (ChatMessage m : messages) {
            lines.add(m.role() + ": " + m.content());
        }
        return String.join("\n", lines);
    }
}
