package io.qlorastream.engine.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The parts of a Hugging Face {@code config.json} that a Llama-family decoder needs, with transformers'
 * {@code LlamaConfig} defaults for absent keys. Supported architectures: {@code LlamaForCausalLM},
 * {@code MistralForCausalLM}, {@code Qwen2ForCausalLM}.
 *
 * @param qkvBias     q, k and v projections carry a bias (Qwen2 always; Llama when {@code attention_bias})
 * @param oBias       o_proj carries a bias (Llama's {@code attention_bias}; never for Qwen2)
 * @param ropeScaling null, or the {@code llama3} rope scaling parameters
 */
public record LlamaConfig(
        String architecture,
        String modelType,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        boolean qkvBias,
        boolean oBias,
        boolean mlpBias,
        Integer bosTokenId,
        List<Integer> eosTokenIds,
        String torchDtype) {

    public static final Set<String> SUPPORTED_ARCHITECTURES =
            Set.of("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM");

    private static final ObjectMapper JSON = new ObjectMapper();

    /** {@code rope_scaling} of type {@code llama3} (the only scaling this engine implements). */
    public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
                              int originalMaxPositionEmbeddings) {
    }

    public LlamaConfig {
        if (numHeads <= 0 || numKvHeads <= 0 || numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads (" + numHeads
                    + ") must be a positive multiple of num_key_value_heads (" + numKvHeads + ")");
        }
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    /** Query heads that share one key/value head (GQA group size). */
    public int kvGroupSize() {
        return numHeads / numKvHeads;
    }

    public int qDim() {
        return numHeads * headDim;
    }

    public int kvDim() {
        return numKvHeads * headDim;
    }

    /** Reads {@code dir/config.json}; an unsupported architecture or a missing required key is a one-line error. */
    public static LlamaConfig read(Path modelDir) throws IOException {
        Path file = modelDir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            throw new IOException("no config.json in " + modelDir);
        }
        JsonNode root = JSON.readTree(file.toFile());
        return fromJson(root, file.toString());
    }

    public static LlamaConfig fromJson(JsonNode c, String source) {
        String arch = c.path("architectures").path(0).asText(null);
        if (arch == null) {
            String mt = c.path("model_type").asText("");
            arch = switch (mt) {
                case "llama" -> "LlamaForCausalLM";
                case "mistral" -> "MistralForCausalLM";
                case "qwen2" -> "Qwen2ForCausalLM";
                default -> throw new IllegalArgumentException(source + ": no \"architectures\" and unknown model_type \"" + mt + "\"");
            };
        }
        if (!SUPPORTED_ARCHITECTURES.contains(arch)) {
            throw new IllegalArgumentException(source + ": unsupported architecture " + arch
                    + " (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)");
        }
        boolean qwen2 = arch.equals("Qwen2ForCausalLM");
        int hidden = required(c, "hidden_size", source);
        int heads = required(c, "num_attention_heads", source);
        int kvHeads = c.hasNonNull("num_key_value_heads") ? c.get("num_key_value_heads").asInt() : heads;
        int headDim = c.hasNonNull("head_dim") ? c.get("head_dim").asInt() : hidden / heads;
        boolean attentionBias = c.path("attention_bias").asBoolean(false);

        RopeScaling scaling = null;
        JsonNode rs = c.get("rope_scaling");
        if (rs != null && !rs.isNull()) {
            String type = rs.hasNonNull("rope_type") ? rs.get("rope_type").asText() : rs.path("type").asText("default");
            if (type.equals("llama3")) {
                scaling = new RopeScaling(type, rs.path("factor").asDouble(8.0), rs.path("low_freq_factor").asDouble(1.0),
                        rs.path("high_freq_factor").asDouble(4.0), rs.path("original_max_position_embeddings").asInt(8192));
            } else if (!type.equals("default")) {
                throw new IllegalArgumentException(source + ": unsupported rope_scaling type \"" + type + "\" (supported: llama3)");
            }
        }

        List<Integer> eos = new ArrayList<>();
        JsonNode e = c.get("eos_token_id");
        if (e != null && e.isArray()) {
            e.forEach(n -> eos.add(n.asInt()));
        } else if (e != null && !e.isNull()) {
            eos.add(e.asInt());
        }
        JsonNode b = c.get("bos_token_id");

        return new LlamaConfig(arch,
                c.path("model_type").asText(qwen2 ? "qwen2" : arch.equals("MistralForCausalLM") ? "mistral" : "llama"),
                c.path("vocab_size").asInt(32000),
                hidden,
                required(c, "intermediate_size", source),
                required(c, "num_hidden_layers", source),
                heads,
                kvHeads,
                headDim,
                c.path("rms_norm_eps").asDouble(1e-6),
                c.path("rope_theta").asDouble(10000.0),
                scaling,
                c.path("max_position_embeddings").asInt(2048),
                c.path("tie_word_embeddings").asBoolean(false),
                qwen2 || attentionBias,
                !qwen2 && attentionBias,
                c.path("mlp_bias").asBoolean(false),
                b == null || b.isNull() ? null : b.asInt(),
                eos,
                c.path("torch_dtype").asText(c.path("dtype").asText("float32")));
    }

    private static int required(JsonNode c, String key, String source) {
        JsonNode n = c.get(key);
        if (n == null || n.isNull() || !n.canConvertToInt()) {
            throw new IllegalArgumentException(source + ": missing or invalid \"" + key + "\"");
        }
        return n.asInt();
    }
}
