package io.qlorastream.engine.config;

import java.util.List;

/**
 * The seven linear projections of a decoder block, in checkpoint order, with their Hugging Face / PEFT names
 * ({@code q_proj} ...) and the module that holds each in a checkpoint ({@code self_attn} or {@code mlp}).
 */
public enum Projection {
    Q("q_proj", "self_attn"), K("k_proj", "self_attn"), V("v_proj", "self_attn"), O("o_proj", "self_attn"),
    GATE("gate_proj", "mlp"), UP("up_proj", "mlp"), DOWN("down_proj", "mlp");

    /** The PEFT names of all seven, in checkpoint order. */
    public static final List<String> PEFT_NAMES = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    private static final Projection[] ALL = values();

    private final String peftName;
    private final String module;

    Projection(String peftName, String module) {
        this.peftName = peftName;
        this.module = module;
    }

    /** "q_proj" ... "down_proj": the name in checkpoints and in PEFT's {@code target_modules}. */
    public String peftName() {
        return peftName;
    }

    /** "self_attn" for q/k/v/o, "mlp" for gate/up/down. */
    public String module() {
        return module;
    }

    /** The projection of a PEFT name ("q_proj" ...); anything else is an error naming it. */
    public static Projection of(String peftName) {
        Projection p = byName(peftName);
        if (p == null) {
            throw new IllegalArgumentException("unknown projection " + peftName + " (expected one of " + PEFT_NAMES + ")");
        }
        return p;
    }

    /** The projection of a PEFT name, or null when there is none. */
    public static Projection byName(String peftName) {
        for (Projection p : ALL) {
            if (p.peftName.equals(peftName)) {
                return p;
            }
        }
        return null;
    }

    /** [rows, cols] of this projection's weight for a config. */
    public int[] shape(LlamaConfig c) {
        return switch (this) {
            case Q -> new int[]{c.qDim(), c.hiddenSize()};
            case K, V -> new int[]{c.kvDim(), c.hiddenSize()};
            case O -> new int[]{c.hiddenSize(), c.qDim()};
            case GATE, UP -> new int[]{c.intermediateSize(), c.hiddenSize()};
            case DOWN -> new int[]{c.hiddenSize(), c.intermediateSize()};
        };
    }

    /** Whether a config gives this projection a bias. */
    public boolean hasBias(LlamaConfig c) {
        return switch (this) {
            case Q, K, V -> c.qkvBias();
            case O -> c.oBias();
            case GATE, UP, DOWN -> c.mlpBias();
        };
    }

    @Override
    public String toString() {
        return peftName;
    }
}
