package io.qlorastream.engine.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.FatalTemplateErrorsException;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face chat template ({@code chat_template} of {@code tokenizer_config.json}) rendered with Jinjava, with
 * the environment transformers gives it: {@code trim_blocks} and {@code lstrip_blocks}, the variables
 * {@code messages}, {@code add_generation_prompt}, {@code bos_token}, {@code eos_token}, and the function
 * {@code raise_exception(msg)}.
 */
public final class ChatTemplate {
    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;

    public ChatTemplate(String template, String bosToken, String eosToken) {
        this.template = template;
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true).build());
        jinjava.getGlobalContext().registerFunction(
                new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
    }

    /** Called by templates as {@code raise_exception('...')}: the template refuses the conversation. */
    public static String raiseException(String message) {
        throw new IllegalArgumentException("chat template: " + message);
    }

    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> msgs = new ArrayList<>();
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            msgs.add(map);
        }
        Map<String, Object> context = new HashMap<>();
        context.put("messages", msgs);
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("bos_token", bosToken);
        context.put("eos_token", eosToken);
        try {
            return jinjava.render(template, context);
        } catch (FatalTemplateErrorsException e) {
            for (TemplateError error : e.getErrors()) {
                // raise_exception's own message, wherever Jinjava wrapped it
                for (Throwable t = error.getException(); t != null; t = t.getCause()) {
                    if (t instanceof IllegalArgumentException iae && String.valueOf(iae.getMessage()).startsWith("chat template: ")) {
                        throw iae;
                    }
                }
            }
            throw new IllegalArgumentException("chat template failed: " + e.getErrors().iterator().next().getMessage(), e);
        }
    }
}
