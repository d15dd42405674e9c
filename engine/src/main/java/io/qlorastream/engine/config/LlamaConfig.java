package io.qlorastream.engine.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The parts of a Hugging Face {@code config.json} that a Llama-family decoder needs, with transformers' defaults
 * for absent keys. Supported architectures: {@link #SUPPORTED_ARCHITECTURES}. What sets a family apart from the
 * Llama layer is a plain component here (q/k norms, Gemma's {@code (1+w)} and sandwich norms, scales, activation,
 * per-layer window and RoPE, partial rotary, longrope, Phi3's fused projections, final softcap).
 *
 * @param qkvBias        q, k and v projections carry a bias (Qwen2 always; others when {@code attention_bias})
 * @param oBias          o_proj carries a bias ({@code attention_bias}; never for Qwen2)
 * @param ropeScaling    null, or the {@code llama3} rope scaling parameters (full-attention layers only)
 * @param qkNorm         an RMSNorm of weight [headDim] on every q and k head before RoPE (Qwen3, Gemma3)
 * @param offsetNorm     every norm multiplies by {@code (1+w)}, all in fp32 (Gemma)
 * @param sandwichNorms  post-attention and post-feedforward norms on the block outputs plus a pre-feedforward
 *                       norm (Gemma3: {@code pre_feedforward_layernorm}, {@code post_feedforward_layernorm})
 * @param embeddingScale the embeddings are multiplied by this (Gemma: sqrt(hidden), cast to the weight dtype by
 *                       the model); 1 elsewhere
 * @param attentionScale scores are {@code q·k·attentionScale}: {@code query_pre_attn_scalar^-0.5}, else
 *                       {@code headDim^-0.5}
 * @param layers         per decoder layer: its sliding window (0 = global), RoPE base, whether RoPE applies
 * @param rotaryDim      leading dims of each head that RoPE rotates ({@code partial_rotary_factor}·headDim)
 * @param longRope       null, or Phi3's {@code longrope} scaling
 * @param fusedQkv       q, k, v are one {@code qkv_proj} (Phi3)
 * @param fusedGateUp    gate and up are one {@code gate_up_proj} (Phi3)
 * @param finalLogitSoftcap 0, or c in {@code logits = c·tanh(logits/c)}
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
        String torchDtype,
        boolean qkNorm,
        boolean offsetNorm,
        boolean sandwichNorms,
        double embeddingScale,
        double attentionScale,
        Activation activation,
        List<LayerAttention> layers,
        int rotaryDim,
        LongRope longRope,
        boolean fusedQkv,
        boolean fusedGateUp,
        double finalLogitSoftcap) {

    public static final List<String> SUPPORTED_ARCHITECTURES = List.of("LlamaForCausalLM", "MistralForCausalLM",
            "Qwen2ForCausalLM", "Qwen3ForCausalLM", "Gemma3ForCausalLM", "Phi3ForCausalLM", "SmolLM3ForCausalLM");

    private static final Map<String, String> ARCHITECTURE_OF_MODEL_TYPE = Map.of(
            "llama", "LlamaForCausalLM", "mistral", "MistralForCausalLM", "qwen2", "Qwen2ForCausalLM",
            "qwen3", "Qwen3ForCausalLM", "gemma3_text", "Gemma3ForCausalLM", "phi3", "Phi3ForCausalLM",
            "smollm3", "SmolLM3ForCausalLM");

    private static final ObjectMapper JSON = new ObjectMapper();

    /** {@code rope_scaling} of type {@code llama3}. */
    public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
                              int originalMaxPositionEmbeddings) {
    }

    /**
     * Phi3's {@code longrope}: {@code inv_i = 1/(f_i·θ^(2i/rotaryDim))} with f the long factors once a sequence is
     * longer than {@code originalMaxPositionEmbeddings}, else the short ones; cos and sin times attentionFactor.
     */
    public record LongRope(List<Double> shortFactor, List<Double> longFactor, double attentionFactor,
                           int originalMaxPositionEmbeddings) {
        public LongRope {
            shortFactor = List.copyOf(shortFactor);
            longFactor = List.copyOf(longFactor);
        }
    }

    /** The MLP's gate activation: SiLU (Llama, Qwen, Phi3, SmolLM3) or tanh-approximated GELU (Gemma). */
    public enum Activation { SILU, GELU_TANH }

    /**
     * One decoder layer's attention: its sliding window in keys, itself included (0 = global), its RoPE base, and
     * whether RoPE applies at all (false: a NoPE layer) and whether {@code rope_scaling} does.
     */
    public record LayerAttention(int slidingWindow, double ropeBase, boolean rope, boolean ropeScaled) {
    }

    public LlamaConfig {
        if (numHeads <= 0 || numKvHeads <= 0 || numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads (" + numHeads
                    + ") must be a positive multiple of num_key_value_heads (" + numKvHeads + ")");
        }
        eosTokenIds = List.copyOf(eosTokenIds);
        layers = List.copyOf(layers);
        if (layers.size() != numLayers) {
            throw new IllegalArgumentException("layer attention list has " + layers.size() + " entries for "
                    + numLayers + " layers");
        }
        if (rotaryDim <= 0 || rotaryDim > headDim || rotaryDim % 2 != 0) {
            throw new IllegalArgumentException("rotary dim " + rotaryDim + " must be even and in 2.." + headDim);
        }
    }

    /** A Llama-layer config (no family extras): every layer global with base {@code ropeTheta}. */
    public LlamaConfig(String architecture, String modelType, int vocabSize, int hiddenSize, int intermediateSize,
                       int numLayers, int numHeads, int numKvHeads, int headDim, double rmsNormEps, double ropeTheta,
                       RopeScaling ropeScaling, int maxPositionEmbeddings, boolean tieWordEmbeddings, boolean qkvBias,
                       boolean oBias, boolean mlpBias, Integer bosTokenId, List<Integer> eosTokenIds,
                       String torchDtype) {
        this(architecture, modelType, vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads,
                headDim, rmsNormEps, ropeTheta, ropeScaling, maxPositionEmbeddings, tieWordEmbeddings, qkvBias, oBias,
                mlpBias, bosTokenId, eosTokenIds, torchDtype, false, false, false, 1.0, 1.0 / Math.sqrt(headDim),
                Activation.SILU, Collections.nCopies(numLayers, new LayerAttention(0, ropeTheta, true, true)),
                headDim, null, false, false, 0.0);
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

    /** Layer i's sliding window in keys, itself included; 0 when the layer attends globally. */
    public int slidingWindow(int layer) {
        return layers.get(layer).slidingWindow();
    }

    /** Layer i's RoPE base (Gemma3: {@code rope_local_base_freq} on sliding layers). */
    public double ropeBase(int layer) {
        return layers.get(layer).ropeBase();
    }

    /** Whether layer i rotates q and k (false on SmolLM3's NoPE layers). */
    public boolean usesRope(int layer) {
        return layers.get(layer).rope();
    }

    /**
     * Whether this config is the plain Llama layer (Llama, Mistral, Qwen2, and the other families when their configs
     * set none of their extras), sliding windows aside: the layer every engine path runs.
     */
    public boolean plainLlamaLayer() {
        return !qkNorm && !offsetNorm && !sandwichNorms && embeddingScale == 1.0 && activation == Activation.SILU
                && Math.abs(attentionScale * Math.sqrt(headDim) - 1.0) < 1e-12 && rotaryDim == headDim
                && longRope == null && !fusedQkv && !fusedGateUp && finalLogitSoftcap == 0.0
                && layers.stream().allMatch(l -> l.rope() && l.ropeBase() == ropeTheta);
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
        String named = c.path("architectures").path(0).asText(null);
        String arch = named;
        if (named == null) {
            String mt = c.path("model_type").asText("");
            arch = ARCHITECTURE_OF_MODEL_TYPE.get(mt);
            if (arch == null) {
                throw new IllegalArgumentException(source + ": no \"architectures\" and unknown model_type \"" + mt
                        + "\" (supported: " + String.join(", ", ARCHITECTURE_OF_MODEL_TYPE.keySet().stream().sorted().toList()) + ")");
            }
        }
        if (!SUPPORTED_ARCHITECTURES.contains(arch)) {
            throw new IllegalArgumentException(source + ": unsupported architecture " + arch
                    + " (supported: " + String.join(", ", SUPPORTED_ARCHITECTURES) + ")");
        }
        boolean qwen2 = arch.equals("Qwen2ForCausalLM");
        boolean qwen3 = arch.equals("Qwen3ForCausalLM");
        boolean gemma = arch.equals("Gemma3ForCausalLM");
        boolean phi3 = arch.equals("Phi3ForCausalLM");
        boolean smol = arch.equals("SmolLM3ForCausalLM");
        boolean mistral = arch.equals("MistralForCausalLM");
        String modelType = c.path("model_type").asText(modelTypeOf(arch));

        int hidden = required(c, "hidden_size", source);
        int heads = required(c, "num_attention_heads", source);
        int numLayers = required(c, "num_hidden_layers", source);
        int kvHeads = c.hasNonNull("num_key_value_heads") ? c.get("num_key_value_heads").asInt() : heads;
        // Phi3 has no head_dim key: d is always hidden/heads there. Gemma3's default is 256.
        int headDim = !phi3 && c.hasNonNull("head_dim") ? c.get("head_dim").asInt() : gemma ? 256 : hidden / heads;
        boolean attentionBias = c.path("attention_bias").asBoolean(false);

        // transformers >= 5 folds rope_theta / rope_scaling into rope_parameters (per layer type for Gemma3).
        JsonNode ropeParams = c.path("rope_parameters");
        JsonNode fullRope = ropeParams.has("full_attention") ? ropeParams.get("full_attention") : ropeParams;
        JsonNode slidingRope = ropeParams.path("sliding_attention");
        double ropeTheta = fullRope.hasNonNull("rope_theta") ? fullRope.get("rope_theta").asDouble()
                : c.path("rope_theta").asDouble(gemma ? 1_000_000.0 : 10000.0);
        double localBase = slidingRope.hasNonNull("rope_theta") ? slidingRope.get("rope_theta").asDouble()
                : c.path("rope_local_base_freq").asDouble(10000.0);
        JsonNode rs = c.hasNonNull("rope_scaling") ? c.get("rope_scaling") : fullRope.isObject() ? fullRope : null;

        int maxPositions = c.path("max_position_embeddings").asInt(2048);
        double rotaryFactor = c.path("partial_rotary_factor").asDouble(1.0);
        int rotaryDim = (int) (headDim * rotaryFactor);

        RopeScaling scaling = null;
        LongRope longRope = null;
        if (rs != null) {
            String type = rs.hasNonNull("rope_type") ? rs.get("rope_type").asText() : rs.path("type").asText("default");
            switch (type) {
                case "default" -> { }
                case "llama3" -> scaling = new RopeScaling(type, rs.path("factor").asDouble(8.0),
                        rs.path("low_freq_factor").asDouble(1.0), rs.path("high_freq_factor").asDouble(4.0),
                        rs.path("original_max_position_embeddings").asInt(8192));
                case "longrope", "su" -> longRope = longRope(rs, c, maxPositions, rotaryDim, source);
                default -> throw new IllegalArgumentException(source + ": unsupported rope_scaling type \"" + type
                        + "\" (supported: default, llama3, longrope)");
            }
        }

        List<LayerAttention> layers = layerAttention(c, arch, numLayers, ropeTheta, localBase, source);

        String act = gemma ? c.path("hidden_activation").asText(c.path("hidden_act").asText("gelu_pytorch_tanh"))
                : c.path("hidden_act").asText("silu");
        Activation activation = switch (act) {
            case "silu", "swish" -> Activation.SILU;
            case "gelu_pytorch_tanh", "gelu_tanh", "gelu_new" -> Activation.GELU_TANH;
            default -> throw new IllegalArgumentException(source + ": unsupported activation \"" + act
                    + "\" (supported: silu, gelu_pytorch_tanh)");
        };
        double attentionScale = gemma ? 1.0 / Math.sqrt(c.path("query_pre_attn_scalar").asDouble(256))
                : 1.0 / Math.sqrt(headDim);

        List<Integer> eos = new ArrayList<>();
        JsonNode e = c.get("eos_token_id");
        if (e != null && e.isArray()) {
            e.forEach(n -> eos.add(n.asInt()));
        } else if (e != null && !e.isNull()) {
            eos.add(e.asInt());
        }
        JsonNode b = c.get("bos_token_id");
        JsonNode softcap = c.get("final_logit_softcapping");

        return new LlamaConfig(arch,
                modelType,
                c.path("vocab_size").asInt(gemma ? 262208 : 32000),
                hidden,
                required(c, "intermediate_size", source),
                numLayers,
                heads,
                kvHeads,
                headDim,
                c.path("rms_norm_eps").asDouble(1e-6),
                ropeTheta,
                scaling,
                maxPositions,
                c.path("tie_word_embeddings").asBoolean(gemma || smol),
                qwen2 || (!phi3 && attentionBias),
                !qwen2 && !phi3 && attentionBias,
                !phi3 && c.path("mlp_bias").asBoolean(false),
                b == null || b.isNull() ? null : b.asInt(),
                eos,
                c.path("torch_dtype").asText(c.path("dtype").asText("float32")),
                qwen3 || gemma,
                gemma,
                gemma,
                gemma ? Math.sqrt(hidden) : 1.0,
                attentionScale,
                activation,
                layers,
                rotaryDim,
                longRope,
                phi3,
                phi3,
                softcap == null || softcap.isNull() ? 0.0 : softcap.asDouble());
    }

    /**
     * Per-layer window, base and RoPE. Mistral and Phi3: {@code sliding_window} on every layer. Gemma3: sliding
     * layers from {@code layer_types} (else every layer but each {@code sliding_window_pattern}-th) use the window
     * and {@code rope_local_base_freq}, never scaled. Qwen2/3 and SmolLM3 window their sliding layers only with
     * {@code use_sliding_window}. SmolLM3: {@code no_rope_layers[i] == 0} (else every
     * {@code no_rope_layer_interval}-th layer) skips RoPE.
     */
    private static List<LayerAttention> layerAttention(JsonNode c, String arch, int numLayers, double ropeTheta,
                                                       double localBase, String source) {
        int window = c.hasNonNull("sliding_window") ? c.get("sliding_window").asInt() : 0;
        boolean gemma = arch.equals("Gemma3ForCausalLM");
        boolean everyLayer = arch.equals("MistralForCausalLM") || arch.equals("Phi3ForCausalLM");
        boolean optIn = c.path("use_sliding_window").asBoolean(false);
        JsonNode types = c.path("layer_types");
        if (types.isArray() && types.size() != numLayers) {
            throw new IllegalArgumentException(source + ": layer_types has " + types.size() + " entries for "
                    + numLayers + " layers");
        }
        JsonNode noRope = c.path("no_rope_layers");
        if (noRope.isArray() && noRope.size() != numLayers) {
            throw new IllegalArgumentException(source + ": no_rope_layers has " + noRope.size() + " entries for "
                    + numLayers + " layers");
        }
        int pattern = c.hasNonNull("sliding_window_pattern") ? c.get("sliding_window_pattern").asInt()
                : c.path("_sliding_window_pattern").asInt(6);
        int noRopeInterval = c.path("no_rope_layer_interval").asInt(4);
        boolean smol = arch.equals("SmolLM3ForCausalLM");
        int maxWindowLayers = c.path("max_window_layers").asInt(28);

        List<LayerAttention> layers = new ArrayList<>(numLayers);
        for (int i = 0; i < numLayers; i++) {
            boolean sliding;
            if (types.isArray()) {
                String t = types.get(i).asText();
                if (!t.equals("sliding_attention") && !t.equals("full_attention")) {
                    throw new IllegalArgumentException(source + ": layer_types[" + i + "] is \"" + t
                            + "\" (expected sliding_attention or full_attention)");
                }
                sliding = t.equals("sliding_attention");
            } else {
                // Qwen2/3: layers from max_window_layers on are the sliding ones.
                sliding = gemma ? (i + 1) % pattern != 0 : everyLayer || (optIn && i >= maxWindowLayers);
            }
            boolean windowed = window > 0 && sliding && (gemma || everyLayer || optIn);
            boolean rope = !smol || (noRope.isArray() ? noRope.get(i).asInt() != 0 : (i + 1) % noRopeInterval != 0);
            boolean local = gemma && sliding;
            layers.add(new LayerAttention(windowed ? window : 0, local ? localBase : ropeTheta, rope, !local));
        }
        return layers;
    }

    /** Phi3's longrope; the attention factor defaults to sqrt(1 + ln s / ln orig), s = max/orig positions. */
    private static LongRope longRope(JsonNode rs, JsonNode c, int maxPositions, int rotaryDim, String source) {
        int orig = c.hasNonNull("original_max_position_embeddings") ? c.get("original_max_position_embeddings").asInt()
                : rs.path("original_max_position_embeddings").asInt(maxPositions);
        List<Double> shortF = doubles(rs.path("short_factor"));
        List<Double> longF = doubles(rs.path("long_factor"));
        if (shortF.size() != rotaryDim / 2 || longF.size() != rotaryDim / 2) {
            throw new IllegalArgumentException(source + ": longrope short_factor/long_factor have " + shortF.size()
                    + "/" + longF.size() + " entries, expected " + rotaryDim / 2 + " (rotary dim / 2)");
        }
        double attention;
        if (rs.hasNonNull("attention_factor")) {
            attention = rs.get("attention_factor").asDouble();
        } else {
            double s = rs.hasNonNull("factor") ? rs.get("factor").asDouble() : (double) maxPositions / orig;
            attention = s <= 1.0 ? 1.0 : Math.sqrt(1 + Math.log(s) / Math.log(orig));
        }
        return new LongRope(shortF, longF, attention, orig);
    }

    private static String modelTypeOf(String architecture) {
        for (Map.Entry<String, String> e : ARCHITECTURE_OF_MODEL_TYPE.entrySet()) {
            if (e.getValue().equals(architecture)) {
                return e.getKey();
            }
        }
        throw new IllegalArgumentException("unsupported architecture " + architecture);
    }

    private static List<Double> doubles(JsonNode array) {
        List<Double> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asDouble()));
        return out;
    }

    private static int required(JsonNode c, String key, String source) {
        JsonNode n = c.get(key);
        if (n == null || n.isNull() || !n.canConvertToInt()) {
            throw new IllegalArgumentException(source + ": missing or invalid \"" + key + "\"");
        }
        return n.asInt();
    }
}
