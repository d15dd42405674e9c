package io.qlorastream.engine.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.FatalTemplateErrorsException;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * A Hugging Face chat template ({@code chat_template} of {@code tokenizer_config.json}) rendered with Jinjava in the
 * environment transformers gives it (utils/chat_template_utils.py): {@code trim_blocks}, {@code lstrip_blocks}, loop
 * controls and {@code namespace} (Jinjava's own); the globals {@code raise_exception(msg)} and
 * {@code strftime_now(fmt)}; the {@code {% generation %}} block tag; {@code tojson} as HF's; Python's string methods;
 * the variables {@code messages}, {@code add_generation_prompt}, {@code bos_token}, {@code eos_token},
 * {@code tools}/{@code documents} (none) and any extra keyword arguments ({@code enable_thinking}).
 *
 * <p>Written here because Jinjava lacks them: Python's string methods (an EL resolver, {@link PythonStrings}), the
 * step slice {@code [::-1]} (Jinjava's parser has no step: rewritten to its {@code reverse} filter), Python's
 * {@code strftime} directives, {@code json.dumps}' spacing for {@code tojson}, and the parentheses Jinjava needs
 * around {@code namespace(...)} arguments. One known difference remains: a boolean printed as such ({@code {{ flag }}})
 * is {@code true}, where Python prints {@code True}; no shipped template prints one (ChatTemplatePeerTest).
 */
public final class ChatTemplate {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ThreadLocal<Clock> CLOCK = new ThreadLocal<>();

    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final Clock clock;
    private final Jinjava jinjava;

    public ChatTemplate(String template, String bosToken, String eosToken) {
        this(template, bosToken, eosToken, Clock.systemDefaultZone());
    }

    /** {@code clock} is what {@code strftime_now} reads (transformers uses local time). */
    public ChatTemplate(String template, String bosToken, String eosToken, Clock clock) {
        // Jinja2 drops one trailing newline of the source (keep_trailing_newline=False); Jinjava would print it
        String source = template.endsWith("\n") ? template.substring(0, template.length() - 1) : template;
        this.template = parenthesiseNamespaceArguments(source.replace("[::-1]", "|reverse"));
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.clock = clock;
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStringResolver());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
        // Jinjava's legacy overrides that make it behave as Jinja2: {{- -}} and {#- -#} trim, Python's operator
        // precedence (namespace(i=messages|length - 1)), Python's printing of values (True, None), null loop items
        LegacyOverrides jinja2 = LegacyOverrides.newBuilder().withUseTrimmingForNotesAndExpressions(true)
                .withParseWhitespaceControlStrictly(true).withUseNaturalOperatorPrecedence(true)
                .withUsePyishObjectMapper(true).withKeepNullableLoopValues(true).withEvaluateMapKeys(true).build();
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true)
                .withLegacyOverrides(jinja2).withElResolver(resolver).build());
        jinjava.getGlobalContext().registerFunction(
                new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
        jinjava.getGlobalContext().registerFunction(
                new ELFunctionDefinition("", "strftime_now", ChatTemplate.class, "strftimeNow", String.class));
        jinjava.getGlobalContext().registerTag(new GenerationTag());
        jinjava.getGlobalContext().registerFilter(new ToJsonFilter());
    }

    /** Called by templates as {@code raise_exception('...')}: the template refuses the conversation. */
    public static String raiseException(String message) {
        throw new IllegalArgumentException("chat template: " + message);
    }

    /** Called by templates as {@code strftime_now('%d %B %Y')}: the render's clock, formatted as Python would. */
    public static String strftimeNow(String format) {
        Clock clock = Objects.requireNonNullElse(CLOCK.get(), Clock.systemDefaultZone());
        return PythonStrings.strftime(ZonedDateTime.now(clock), format);
    }

    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /** {@code kwargs}: extra variables, as transformers' {@code apply_chat_template(..., **kwargs)}. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, ?> kwargs) {
        List<Map<String, Object>> msgs = new ArrayList<>();
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            msgs.add(map);
        }
        Map<String, Object> context = new HashMap<>(kwargs);
        context.put("messages", msgs);
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("bos_token", bosToken);
        context.put("eos_token", eosToken);
        // Jinjava's functions are no variables; templates test "strftime_now is defined" (Llama 3.2)
        context.put("strftime_now", true);
        context.put("raise_exception", true);
        CLOCK.set(clock);
        RenderResult result;
        try {
            result = jinjava.renderForResult(template, context);
        } finally {
            CLOCK.remove();
        }
        for (TemplateError error : result.getErrors()) {
            // raise_exception's own message, wherever Jinjava wrapped it
            for (Throwable t = error.getException(); t != null; t = t.getCause()) {
                if (t instanceof IllegalArgumentException iae && String.valueOf(iae.getMessage()).startsWith("chat template: ")) {
                    throw new IllegalArgumentException(iae.getMessage(), iae);
                }
            }
        }
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new IllegalArgumentException("chat template failed at line " + error.getLineno() + ": "
                        + error.getMessage().replaceAll("\\s+", " "));
            }
        }
        return result.getOutput();
    }

    /**
     * Jinjava binds {@code namespace(i=messages|length - 1)} as {@code (i=messages|length) - 1}; Jinja2 reads the
     * whole {@code messages|length - 1} as the value. Each {@code name=value} argument of a {@code namespace(...)}
     * call becomes {@code name=(value)}.
     */
    static String parenthesiseNamespaceArguments(String template) {
        StringBuilder out = new StringBuilder();
        int from = 0;
        int at;
        while ((at = template.indexOf("namespace(", from)) >= 0) {
            int open = at + "namespace(".length();
            out.append(template, from, open);
            List<String> args = new ArrayList<>();
            int depth = 0;
            char quote = 0;
            int start = open;
            int i = open;
            for (; i < template.length(); i++) {
                char c = template.charAt(i);
                if (quote != 0) {
                    quote = c == quote && template.charAt(i - 1) != '\\' ? 0 : quote;
                } else if (c == '\'' || c == '"') {
                    quote = c;
                } else if (c == '(' || c == '[' || c == '{') {
                    depth++;
                } else if ((c == ')' || c == ']' || c == '}') && depth > 0) {
                    depth--;
                } else if (c == ',' && depth == 0) {
                    args.add(template.substring(start, i));
                    start = i + 1;
                } else if (c == ')') {
                    break;
                }
            }
            args.add(template.substring(start, Math.min(i, template.length())));
            List<String> wrapped = new ArrayList<>();
            for (String arg : args) {
                java.util.regex.Matcher named = java.util.regex.Pattern.compile("(\\s*\\w+\\s*)=(.*)", java.util.regex.Pattern.DOTALL).matcher(arg);
                wrapped.add(named.matches() && !named.group(2).startsWith("=") ? named.group(1) + "=(" + named.group(2) + ")" : arg);
            }
            out.append(String.join(",", wrapped));
            from = i;
        }
        return out.append(template.substring(from)).toString();
    }

    /** {@code {% generation %}...{% endgeneration %}}: transformers marks the assistant's tokens with it; it renders its body. */
    static final class GenerationTag implements Tag {
        @Override
        public String getName() {
            return "generation";
        }

        @Override
        public String getEndTagName() {
            return "endgeneration";
        }

        @Override
        public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
            StringBuilder out = new StringBuilder();
            for (Node child : tagNode.getChildren()) {
                out.append(child.render(interpreter).getValue());
            }
            return out.toString();
        }
    }

    /** HF's tojson: {@code json.dumps(x, ensure_ascii=False, indent=indent, sort_keys=sort_keys)}, no HTML escaping. */
    static final class ToJsonFilter implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
            boolean sortKeys = Boolean.TRUE.equals(kwargs.get("sort_keys"));
            try {
                return PythonStrings.jsonDumps(JSON.valueToTree(var), indent == null ? null : ((Number) indent).intValue(),
                        sortKeys);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("tojson: " + e.getMessage(), e);
            }
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, args, Map.of());
        }
    }

    /** Python's str methods on Java strings, before Jinjava's own bean resolver looks for Java methods. */
    static final class PythonStringResolver extends ELResolver {
        @Override
        public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
            if (base instanceof CharSequence s && method != null && PythonStrings.has(method.toString())) {
                context.setPropertyResolved(true);
                return PythonStrings.call(s.toString(), method.toString(), params == null ? new Object[0] : params);
            }
            return null;
        }

        @Override
        public Object getValue(ELContext context, Object base, Object property) {
            return null;
        }

        @Override
        public Class<?> getType(ELContext context, Object base, Object property) {
            return null;
        }

        @Override
        public void setValue(ELContext context, Object base, Object property, Object value) {
        }

        @Override
        public boolean isReadOnly(ELContext context, Object base, Object property) {
            return true;
        }

        @Override
        public java.util.Iterator<java.beans.FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
            return null;
        }

        @Override
        public Class<?> getCommonPropertyType(ELContext context, Object base) {
            return null;
        }
    }

}
