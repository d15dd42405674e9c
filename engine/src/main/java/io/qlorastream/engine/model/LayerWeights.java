package io.qlorastream.engine.model;

import io.qlorastream.engine.config.Projection;

/** The frozen weights of one decoder block. */
public final class LayerWeights {
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

    public Linear projection(Projection p) {
        return switch (p) {
            case Q -> q;
            case K -> k;
            case V -> v;
            case O -> o;
            case GATE -> gate;
            case UP -> up;
            case DOWN -> down;
        };
    }

    public long residentBytes() {
        long bytes = 4L * (inputNorm.length + postAttentionNorm.length);
        for (Projection p : Projection.values()) {
            Linear l = projection(p);
            bytes += l.weight.residentBytes() + (l.bias == null ? 0 : 4L * l.bias.length);
        }
        return bytes;
    }
}
