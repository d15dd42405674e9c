package io.qlorastream.engine.model;

import io.qlorastream.engine.config.LlamaConfig;

import java.util.List;

/**
 * The shape of a Llama-family model that {@link ModelMaker} writes.
 *
 * @param architecture      "LlamaForCausalLM" or "Qwen2ForCausalLM" (q/k/v biases)
 * @param attentionBias     Llama's {@code attention_bias} (q/k/v/o biases)
 * @param mlpBias           {@code mlp_bias}
 */
public record ModelShape(int hidden, int layers, int heads, int kvHeads, int intermediate, int vocabSize,
                         boolean tieWordEmbeddings, String architecture, boolean attentionBias, boolean mlpBias) {

    /** The architectures whose checkpoints this shape describes (the Llama layer). */
    public static final List<String> MAKEABLE_ARCHITECTURES =
            List.of("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM");

    public static final List<String> PRESETS = List.of("tiny", "small", "base", "1b");

    public ModelShape {
        if (hidden <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || intermediate <= 0 || vocabSize <= 0) {
            throw new IllegalArgumentException("model sizes must be positive: hidden " + hidden + ", layers " + layers
                    + ", heads " + heads + ", kv heads " + kvHeads + ", intermediate " + intermediate + ", vocab " + vocabSize);
        }
        if (hidden % heads != 0) {
            throw new IllegalArgumentException("hidden size " + hidden + " is not a multiple of heads " + heads);
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("heads " + heads + " is not a multiple of kv heads " + kvHeads);
        }
        if (!MAKEABLE_ARCHITECTURES.contains(architecture)) {
            throw new IllegalArgumentException("unsupported architecture " + architecture + " (supported: "
                    + String.join(", ", MAKEABLE_ARCHITECTURES) + ")");
        }
    }

    /** A plain Llama (untied embeddings, no biases). */
    public static ModelShape llama(int hidden, int layers, int heads, int kvHeads, int intermediate, int vocabSize) {
        return new ModelShape(hidden, layers, heads, kvHeads, intermediate, vocabSize, false, "LlamaForCausalLM", false, false);
    }

    /**
     * {@code tiny} (≈1.0M parameters, for tests), {@code small} (≈19M), {@code base} (hidden 768, 12 layers, 12
     * heads, intermediate 2048, vocab 32000, tied embeddings: ≈110M), {@code 1b} (TinyLlama's shape: hidden 2048, 22
     * layers, 32 heads, 4 KV heads, intermediate 5632, vocab 32000: ≈1.1B).
     */
    public static ModelShape preset(String name) {
        return switch (name) {
            case "tiny" -> llama(128, 4, 4, 2, 352, 1024);
            case "small" -> llama(384, 8, 6, 2, 1024, 8192);
            case "base" -> llama(768, 12, 12, 12, 2048, 32000).withTiedEmbeddings(true);
            case "1b" -> llama(2048, 22, 32, 4, 5632, 32000);
            default -> throw new IllegalArgumentException("unknown preset " + name + " (expected one of " + PRESETS + ")");
        };
    }

    public int headDim() {
        return hidden / heads;
    }

    public ModelShape withTiedEmbeddings(boolean tied) {
        return new ModelShape(hidden, layers, heads, kvHeads, intermediate, vocabSize, tied, architecture, attentionBias, mlpBias);
    }

    public ModelShape withArchitecture(String arch) {
        return new ModelShape(hidden, layers, heads, kvHeads, intermediate, vocabSize, tieWordEmbeddings, arch, attentionBias, mlpBias);
    }

    public ModelShape withBiases(boolean attention, boolean mlp) {
        return new ModelShape(hidden, layers, heads, kvHeads, intermediate, vocabSize, tieWordEmbeddings, architecture, attention, mlp);
    }

    public ModelShape withVocabSize(int vocab) {
        return new ModelShape(hidden, layers, heads, kvHeads, intermediate, vocab, tieWordEmbeddings, architecture, attentionBias, mlpBias);
    }

    public boolean qwen2() {
        return architecture.equals("Qwen2ForCausalLM");
    }

    /** Total parameter count of the written checkpoint. */
    public long parameterCount() {
        long d = headDim();
        long q = heads * d;
        long kv = kvHeads * d;
        long perLayer = 2L * hidden                               // the two norms
                + hidden * q + 2 * hidden * kv + q * hidden         // q, k, v, o
                + 3L * hidden * intermediate;                       // gate, up, down
        if (qwen2() || attentionBias) {
            perLayer += q + 2 * kv;
        }
        if (!qwen2() && attentionBias) {
            perLayer += hidden;
        }
        if (mlpBias) {
            perLayer += 2L * intermediate + hidden;
        }
        return (long) vocabSize * hidden * (tieWordEmbeddings ? 1 : 2) + hidden + layers * perLayer;
    }
}
