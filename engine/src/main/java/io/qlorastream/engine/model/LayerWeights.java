package io.qlorastream.engine.model;

import java.util.List;

/** The frozen weights of one decoder block. */
public final class LayerWeights {
    /** The projection names of a block, in checkpoint order ("q_proj" ... "down_proj"). */
    public static final List<String> PROJECTIONS =
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    /** [hidden] input_layernorm.weight */
    public final float[] inputNorm;
    /** self_attn.{q,k,v,o}_proj */
    public final Linear q, k, v, o;
    /** [hidden] post_attention_layernorm.weight */
    public final float[] postAttentionNorm;
    /** mlp.{gate,up,down}_proj */
    public final Linear gate, up, down;

    public LayerWeights(float[] inputNorm, Linear q, Linear k, Linear v, Linear o, float[] postAttentionNorm,
                        Linear gate, Linear up, Linear down) {
        this.inputNorm = inputNorm;
        this.q = q;
        this.k = k;
        this.v = v;
        this.o = o;
        this.postAttentionNorm = postAttentionNorm;
        this.gate = gate;
        this.up = up;
        this.down = down;
    }

    /** The projection called {@code name}: "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj". */
    public Linear projection(String name) {
        return switch (name) {
            case "q_proj" -> q;
            case "k_proj" -> k;
            case "v_proj" -> v;
            case "o_proj" -> o;
            case "gate_proj" -> gate;
            case "up_proj" -> up;
            case "down_proj" -> down;
            default -> throw new IllegalArgumentException("unknown projection " + name + " (expected one of " + PROJECTIONS + ")");
        };
    }

    /** "self_attn" for q/k/v/o, "mlp" for gate/up/down: the module that holds the projection in HF checkpoints. */
    public static String module(String projection) {
        return projection.endsWith("_proj") && (projection.startsWith("q") || projection.startsWith("k")
                || projection.startsWith("v") || projection.startsWith("o")) ? "self_attn" : "mlp";
    }

    public long residentBytes() {
        long bytes = 4L * (inputNorm.length + postAttentionNorm.length);
        for (String p : PROJECTIONS) {
            Linear l = projection(p);
            bytes += l.weight.residentBytes() + (l.bias == null ? 0 : 4L * l.bias.length);
        }
        return bytes;
    }
}
