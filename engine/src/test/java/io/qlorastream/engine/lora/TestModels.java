package io.qlorastream.engine.lora;

import io.qlorastream.engine.config.LlamaConfig;

import java.util.List;

/** Small model configs for adapter tests: odd sizes and GQA, so [out, in] mix-ups change shapes. */
public final class TestModels {
    private TestModels() {
    }

    /** hidden 24, 3 layers, 4 heads of 6, 2 KV heads (kv dim 12), intermediate 40. */
    public static LlamaConfig small() {
        return new LlamaConfig("LlamaForCausalLM", "llama", 100, 24, 40, 3, 4, 2, 6, 1e-5, 10000.0, null, 128,
                false, false, false, false, 1, List.of(2), "float32");
    }
}
