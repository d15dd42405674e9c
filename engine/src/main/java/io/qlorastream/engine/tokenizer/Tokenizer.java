package io.qlorastream.engine.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A model's tokenizer: {@code tokenizer.json} run by Hugging Face's own tokenizers library (DJL's JNI binding, which
 * ships the native library in its jar and needs no network), special tokens from {@code tokenizer_config.json},
 * {@code generation_config.json} and {@code config.json}, and the chat template if the model has one.
 */
public final class Tokenizer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    static {
        // DJL copies libtokenizers.so out of its own jar (native/lib/linux-x86_64/cpu) into DJL_CACHE_DIR (default
        // ~/.djl.ai). Offline mode matters twice: DJL's LibUtils then always picks the "cpu" flavor the jar ships
        // (on a machine with a CUDA GPU it would otherwise look for a "cu12x" build and download it), and
        // Ec2Utils.callHome skips its telemetry (EC2 metadata + djl-telemetry requests on first use).
        if (System.getenv("DJL_OFFLINE") == null && System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        if (System.getenv("OPT_OUT_TRACKING") == null && System.getProperty("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
    }

    private final HuggingFaceTokenizer hf;
    private final Map<String, Integer> tokenIds;
    private final int vocabSize;
    private final Integer bosId;
    private final Integer eosId;
    private final Set<Integer> eosIds;
    private final ChatTemplate chatTemplate;

    private Tokenizer(HuggingFaceTokenizer hf, Map<String, Integer> tokenIds, int vocabSize, Integer bosId,
                      Set<Integer> eosIds, ChatTemplate chatTemplate) {
        this.hf = hf;
        this.tokenIds = tokenIds;
        this.vocabSize = vocabSize;
        this.bosId = bosId;
        this.eosId = eosIds.isEmpty() ? null : eosIds.iterator().next();
        this.eosIds = Collections.unmodifiableSet(new LinkedHashSet<>(eosIds));
        this.chatTemplate = chatTemplate;
    }

    public static Tokenizer load(Path modelDir) throws IOException {
        Path file = modelDir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new IOException("no tokenizer.json in " + modelDir);
        }
        JsonNode tokenizerJson = JSON.readTree(file.toFile());
        Map<String, Integer> ids = new HashMap<>();
        tokenizerJson.path("model").path("vocab").fields().forEachRemaining(e -> ids.put(e.getKey(), e.getValue().asInt()));
        tokenizerJson.path("added_tokens").forEach(t -> ids.put(t.path("content").asText(), t.path("id").asInt()));
        int vocabSize = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;

        JsonNode tokenizerConfig = readOptional(modelDir.resolve("tokenizer_config.json"));
        JsonNode generationConfig = readOptional(modelDir.resolve("generation_config.json"));
        JsonNode modelConfig = readOptional(modelDir.resolve("config.json"));

        String bosToken = tokenText(tokenizerConfig.get("bos_token"));
        String eosToken = tokenText(tokenizerConfig.get("eos_token"));
        Integer bos = bosToken != null && ids.containsKey(bosToken) ? ids.get(bosToken)
                : firstInt(generationConfig.get("bos_token_id"), modelConfig.get("bos_token_id"));
        // first the eos token the tokenizer appends (tokenizer_config), then every id generation stops at
        Set<Integer> eos = new LinkedHashSet<>();
        if (eosToken != null && ids.containsKey(eosToken)) {
            eos.add(ids.get(eosToken));
        }
        addInts(eos, generationConfig.get("eos_token_id"));
        addInts(eos, modelConfig.get("eos_token_id"));

        ChatTemplate template = null;
        JsonNode ct = tokenizerConfig.get("chat_template");
        if (ct != null && ct.isTextual()) {
            template = new ChatTemplate(ct.asText(), bosToken, eosToken);
        } else if (ct != null && ct.isArray()) {
            for (JsonNode named : ct) {
                if (named.path("name").asText().equals("default")) {
                    template = new ChatTemplate(named.path("template").asText(), bosToken, eosToken);
                }
            }
        }

        HuggingFaceTokenizer hf;
        try {
            hf = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(file)
                    .optAddSpecialTokens(false)
                    .optTruncation(false)
                    .optPadding(false)
                    .build();
        } catch (RuntimeException e) {
            throw new IOException("cannot load " + file + ": " + e.getMessage(), e);
        }
        return new Tokenizer(hf, ids, vocabSize, bos, eos, template);
    }

    /** Token ids of {@code text}; no special tokens are added (special-token strings in the text are matched). */
    public int[] encode(String text) {
        if (text.isEmpty()) {
            return new int[0];
        }
        long[] ids = hf.encode(text, false, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    /** The text of {@code ids}, special tokens skipped. */
    public String decode(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return hf.decode(l, true);
    }

    /** The text of {@code ids} with the special tokens written out ({@code <|im_end|>}, {@code <eos>}...). */
    public String decodeWithSpecialTokens(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return hf.decode(l, false);
    }

    /** The id of a token string, or null if the vocabulary lacks it. */
    public Integer tokenId(String token) {
        return tokenIds.get(token);
    }

    public Integer bosId() {
        return bosId;
    }

    /** The end token appended after a training target: tokenizer_config's eos_token, else the first eos id; null if none. */
    public Integer eosId() {
        return eosId;
    }

    /** Every id that ends generation (tokenizer_config, generation_config and config.json together), eosId() first. */
    public Set<Integer> eosIds() {
        return eosIds;
    }

    public int vocabSize() {
        return vocabSize;
    }

    public boolean hasChatTemplate() {
        return chatTemplate != null;
    }

    public String applyChatTemplate(List<ChatMessage> messages, boolean addGenerationPrompt) {
        if (chatTemplate == null) {
            throw new IllegalStateException("this tokenizer has no chat_template");
        }
        return chatTemplate.render(messages, addGenerationPrompt);
    }

    /** With extra template variables, as transformers' {@code apply_chat_template(..., enable_thinking=False)}. */
    public String applyChatTemplate(List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, ?> kwargs) {
        if (chatTemplate == null) {
            throw new IllegalStateException("this tokenizer has no chat_template");
        }
        return chatTemplate.render(messages, addGenerationPrompt, kwargs);
    }

    @Override
    public void close() {
        hf.close();
    }

    private static JsonNode readOptional(Path file) throws IOException {
        return Files.isRegularFile(file) ? JSON.readTree(file.toFile()) : JSON.createObjectNode();
    }

    /** bos_token / eos_token are either a string or an AddedToken object with "content". */
    private static String tokenText(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        return n.isTextual() ? n.asText() : n.path("content").asText(null);
    }

    private static Integer firstInt(JsonNode... nodes) {
        for (JsonNode n : nodes) {
            if (n != null && n.canConvertToInt()) {
                return n.asInt();
            }
            if (n != null && n.isArray() && !n.isEmpty()) {
                return n.get(0).asInt();
            }
        }
        return null;
    }

    private static void addInts(Set<Integer> into, JsonNode n) {
        if (n == null || n.isNull()) {
            return;
        }
        if (n.isArray()) {
            n.forEach(x -> into.add(x.asInt()));
        } else if (n.canConvertToInt()) {
            into.add(n.asInt());
        }
    }
}
