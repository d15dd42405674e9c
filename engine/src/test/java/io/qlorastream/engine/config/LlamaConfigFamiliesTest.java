package io.qlorastream.engine.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.engine.config.LlamaConfig.Activation;
import io.qlorastream.engine.model.LoadOptions;
import io.qlorastream.engine.model.ModelLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * {@link LlamaConfig} on the config.json of each family's smallest real checkpoint (the keys and values the Hub
 * copies carry; Phi-4-mini's 48 longrope factors are stand-ins of the right count, not the released values).
 */
class LlamaConfigFamiliesTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    static final String QWEN3_0_6B = """
            {"architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
             "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu",
             "hidden_size": 1024, "initializer_range": 0.02, "intermediate_size": 3072,
             "max_position_embeddings": 40960, "max_window_layers": 28, "model_type": "qwen3",
             "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8, "rms_norm_eps": 1e-06,
             "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null, "tie_word_embeddings": true,
             "torch_dtype": "bfloat16", "transformers_version": "4.51.0", "use_cache": true,
             "use_sliding_window": false, "vocab_size": 151936}
            """;

    static final String GEMMA3_270M = """
            {"_sliding_window_pattern": 6, "architectures": ["Gemma3ForCausalLM"], "attention_bias": false,
             "attention_dropout": 0.0, "attn_logit_softcapping": null, "bos_token_id": 2, "eos_token_id": 1,
             "final_logit_softcapping": null, "head_dim": 256, "hidden_activation": "gelu_pytorch_tanh",
             "hidden_size": 640, "initializer_range": 0.02, "intermediate_size": 2048,
             "layer_types": ["sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention",
               "sliding_attention", "full_attention", "sliding_attention", "sliding_attention", "sliding_attention",
               "sliding_attention", "sliding_attention", "full_attention", "sliding_attention", "sliding_attention",
               "sliding_attention", "sliding_attention", "sliding_attention", "full_attention"],
             "max_position_embeddings": 32768, "model_type": "gemma3_text", "num_attention_heads": 4,
             "num_hidden_layers": 18, "num_key_value_heads": 1, "pad_token_id": 0, "query_pre_attn_scalar": 256,
             "rms_norm_eps": 1e-06, "rope_local_base_freq": 10000.0, "rope_scaling": null, "rope_theta": 1000000.0,
             "sliding_window": 512, "torch_dtype": "bfloat16", "transformers_version": "4.55.0.dev0",
             "use_bidirectional_attention": false, "use_cache": true, "vocab_size": 262144}
            """;

    static final String PHI4_MINI = """
            {"architectures": ["Phi3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
             "bos_token_id": 199999, "embd_pdrop": 0.0, "eos_token_id": 199999, "full_attn_mod": 1,
             "hidden_act": "silu", "hidden_size": 3072, "initializer_range": 0.02, "intermediate_size": 8192,
             "interpolate_factor": 1, "lm_head_bias": false, "max_position_embeddings": 131072, "mlp_bias": false,
             "model_type": "phi3", "num_attention_heads": 24, "num_hidden_layers": 32, "num_key_value_heads": 8,
             "original_max_position_embeddings": 4096, "pad_token_id": 199999, "partial_rotary_factor": 0.75,
             "resid_pdrop": 0.0, "rms_norm_eps": 1e-05,
             "rope_scaling": {"long_factor": [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0, 10.5, 11.0, 11.5, 12.0, 12.5, 13.0, 13.5, 14.0, 14.5, 15.0, 15.5, 16.0, 16.5, 17.0, 17.5, 18.0, 18.5, 19.0, 19.5, 20.0, 20.5, 21.0, 21.5, 22.0, 22.5, 23.0, 23.5, 24.0, 24.5], "short_factor": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], "type": "longrope"},
             "rope_theta": 10000.0, "sliding_window": 262144, "tie_word_embeddings": true,
             "torch_dtype": "bfloat16", "transformers_version": "4.45.0", "use_cache": true, "vocab_size": 200064}
            """;

    static final String SMOLLM3_3B = """
            {"architectures": ["SmolLM3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
             "bos_token_id": null, "eos_token_id": 128012, "hidden_act": "silu", "hidden_size": 2048,
             "initializer_range": 0.02, "intermediate_size": 11008, "max_position_embeddings": 65536,
             "max_window_layers": 28, "mlp_bias": false, "model_type": "smollm3", "no_rope_layer_interval": 4,
             "no_rope_layers": [1,1,1,0, 1,1,1,0, 1,1,1,0, 1,1,1,0, 1,1,1,0, 1,1,1,0, 1,1,1,0, 1,1,1,0, 1,1,1,0],
             "num_attention_heads": 16, "num_hidden_layers": 36, "num_key_value_heads": 4, "pad_token_id": 128004,
             "pretraining_tp": 2, "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 5000000.0,
             "sliding_window": null, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
             "transformers_version": "4.54.0.dev0", "use_cache": false, "use_sliding_window": false,
             "vocab_size": 128256}
            """;

    static final String LLAMA32_1B = """
            {"architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
             "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "head_dim": 64, "hidden_act": "silu",
             "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 8192,
             "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama", "num_attention_heads": 32,
             "num_hidden_layers": 16, "num_key_value_heads": 8, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
             "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
               "original_max_position_embeddings": 8192, "rope_type": "llama3"},
             "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
             "transformers_version": "4.45.0.dev0", "use_cache": true, "vocab_size": 128256}
            """;

    static final String MISTRAL_7B_V01 = """
            {"architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
             "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336,
             "max_position_embeddings": 32768, "model_type": "mistral", "num_attention_heads": 32,
             "num_hidden_layers": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
             "sliding_window": 4096, "tie_word_embeddings": false, "torch_dtype": "bfloat16", "vocab_size": 32000}
            """;

    static LlamaConfig parse(String json) {
        try {
            return LlamaConfig.fromJson(JSON.readTree(json), "config.json");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void qwen3HasPerHeadQkNormsAnExplicitHeadDimAndNoBias() {
        LlamaConfig c = parse(QWEN3_0_6B);
        assertThat(c.architecture()).isEqualTo("Qwen3ForCausalLM");
        assertThat(c.modelType()).isEqualTo("qwen3");
        assertThat(c.qkNorm()).isTrue();
        assertThat(c.offsetNorm()).isFalse();
        assertThat(c.qkvBias()).isFalse();
        assertThat(c.oBias()).isFalse();
        assertThat(c.headDim()).isEqualTo(128);
        assertThat(c.qDim()).isEqualTo(2048);
        assertThat(Projection.Q.shape(c)).containsExactly(2048, 1024);
        assertThat(Projection.O.shape(c)).containsExactly(1024, 2048);
        assertThat(c.attentionScale()).isCloseTo(1 / Math.sqrt(128), within(1e-15));
        assertThat(c.tieWordEmbeddings()).isTrue();
        assertThat(c.eosTokenIds()).containsExactly(151645);
        assertThat(IntStream.range(0, 28).map(c::slidingWindow).distinct().toArray()).containsExactly(0);
        assertThat(c.ropeBase(27)).isEqualTo(1_000_000.0);
        assertThat(c.activation()).isEqualTo(Activation.SILU);
        assertThat(c.plainLlamaLayer()).isFalse();
    }

    @Test
    void gemma3HasOffsetSandwichNormsScaledEmbeddingsGeluAndLocalLayers() {
        LlamaConfig c = parse(GEMMA3_270M);
        assertThat(c.modelType()).isEqualTo("gemma3_text");
        assertThat(c.qkNorm()).isTrue();
        assertThat(c.offsetNorm()).isTrue();
        assertThat(c.sandwichNorms()).isTrue();
        assertThat(c.embeddingScale()).isCloseTo(Math.sqrt(640), within(1e-12));
        assertThat(c.attentionScale()).isEqualTo(1.0 / 16);
        assertThat(c.activation()).isEqualTo(Activation.GELU_TANH);
        assertThat(c.headDim()).isEqualTo(256);
        assertThat(c.numKvHeads()).isEqualTo(1);
        assertThat(c.tieWordEmbeddings()).isTrue();
        assertThat(c.finalLogitSoftcap()).isZero();
        assertThat(c.bosTokenId()).isEqualTo(2);
        assertThat(c.eosTokenIds()).containsExactly(1);
        List<Integer> global = new ArrayList<>();
        for (int i = 0; i < 18; i++) {
            if (c.slidingWindow(i) == 0) {
                global.add(i);
                assertThat(c.ropeBase(i)).isEqualTo(1_000_000.0);
                assertThat(c.layers().get(i).ropeScaled()).isTrue();
            } else {
                assertThat(c.slidingWindow(i)).isEqualTo(512);
                assertThat(c.ropeBase(i)).isEqualTo(10000.0);
                assertThat(c.layers().get(i).ropeScaled()).isFalse();
            }
            assertThat(c.usesRope(i)).isTrue();
        }
        assertThat(global).containsExactly(5, 11, 17);
    }

    @Test
    void gemma3WithoutLayerTypesTakesEverySixthLayerAsGlobal() throws IOException {
        var node = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(GEMMA3_270M);
        node.remove("layer_types");
        node.put("final_logit_softcapping", 30.0);
        LlamaConfig c = LlamaConfig.fromJson(node, "config.json");
        assertThat(IntStream.range(0, 18).filter(i -> c.slidingWindow(i) == 0).boxed().toList())
                .containsExactly(5, 11, 17);
        assertThat(c.finalLogitSoftcap()).isEqualTo(30.0);
    }

    @Test
    void transformers5RopeParametersPerLayerTypeAreRead() throws IOException {
        var node = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(GEMMA3_270M);
        node.remove("rope_theta");
        node.remove("rope_local_base_freq");
        node.remove("rope_scaling");
        node.set("rope_parameters", JSON.readTree("""
                {"full_attention": {"rope_type": "default", "rope_theta": 2000000.0},
                 "sliding_attention": {"rope_type": "default", "rope_theta": 20000.0}}
                """));
        LlamaConfig c = LlamaConfig.fromJson(node, "config.json");
        assertThat(c.ropeBase(5)).isEqualTo(2_000_000.0);
        assertThat(c.ropeBase(0)).isEqualTo(20000.0);

        var llama = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(LLAMA32_1B);
        JsonNode scaling = llama.remove("rope_scaling");
        llama.remove("rope_theta");
        var params = ((com.fasterxml.jackson.databind.node.ObjectNode) scaling).put("rope_theta", 500000.0);
        llama.set("rope_parameters", params);
        LlamaConfig l = LlamaConfig.fromJson(llama, "config.json");
        assertThat(l.ropeTheta()).isEqualTo(500000.0);
        assertThat(l.ropeScaling()).isEqualTo(parse(LLAMA32_1B).ropeScaling());
    }

    @Test
    void phi4MiniHasFusedProjectionsPartialRotaryAndLongRope() {
        LlamaConfig c = parse(PHI4_MINI);
        assertThat(c.fusedQkv()).isTrue();
        assertThat(c.fusedGateUp()).isTrue();
        assertThat(c.headDim()).isEqualTo(128);
        assertThat(c.rotaryDim()).isEqualTo(96);
        assertThat(c.qkvBias()).isFalse();
        assertThat(c.tieWordEmbeddings()).isTrue();
        assertThat(c.ropeScaling()).isNull();
        LlamaConfig.LongRope r = c.longRope();
        assertThat(r.originalMaxPositionEmbeddings()).isEqualTo(4096);
        assertThat(r.shortFactor()).hasSize(48).containsOnly(1.0);
        assertThat(r.longFactor()).hasSize(48).startsWith(1.0, 1.5);
        // sqrt(1 + ln(131072/4096) / ln 4096) = sqrt(1 + 5/12)
        assertThat(r.attentionFactor()).isCloseTo(Math.sqrt(17.0 / 12), within(1e-12)).isCloseTo(1.1902, within(1e-4));
        // sliding_window applies to every Phi3 layer, as in Mistral.
        assertThat(c.slidingWindow(0)).isEqualTo(262144);
        assertThat(c.slidingWindow(31)).isEqualTo(262144);
    }

    @Test
    void smolLm3SkipsRopeOnEveryFourthLayer() throws IOException {
        LlamaConfig c = parse(SMOLLM3_3B);
        assertThat(c.bosTokenId()).isNull();
        assertThat(c.tieWordEmbeddings()).isTrue();
        assertThat(IntStream.range(0, 36).filter(i -> !c.usesRope(i)).boxed().toList())
                .containsExactly(3, 7, 11, 15, 19, 23, 27, 31, 35);
        assertThat(c.plainLlamaLayer()).isFalse();

        var node = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(SMOLLM3_3B);
        node.remove("no_rope_layers");
        node.put("no_rope_layer_interval", 3);
        LlamaConfig byInterval = LlamaConfig.fromJson(node, "config.json");
        assertThat(IntStream.range(0, 9).filter(i -> !byInterval.usesRope(i)).boxed().toList()).containsExactly(2, 5, 8);
    }

    @Test
    void llama32KeepsLlama3RopeAndIsThePlainLayer() {
        LlamaConfig c = parse(LLAMA32_1B);
        assertThat(c.ropeScaling()).isEqualTo(new LlamaConfig.RopeScaling("llama3", 32.0, 1.0, 4.0, 8192));
        assertThat(c.eosTokenIds()).containsExactly(128001, 128008, 128009);
        assertThat(c.rotaryDim()).isEqualTo(64);
        assertThat(c.longRope()).isNull();
        assertThat(c.plainLlamaLayer()).isTrue();
    }

    @Test
    void mistralSlidingWindowAppliesToEveryLayer() {
        LlamaConfig c = parse(MISTRAL_7B_V01);
        assertThat(IntStream.range(0, 32).map(c::slidingWindow).distinct().toArray()).containsExactly(4096);
        assertThat(c.headDim()).isEqualTo(128);
        assertThat(c.plainLlamaLayer()).isTrue();
    }

    @Test
    void qwen2WindowsOnlyFromMaxWindowLayersWhenOptedIn() throws IOException {
        LlamaConfig c = parse("""
                {"architectures": ["Qwen2ForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
                 "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
                 "sliding_window": 32, "use_sliding_window": true, "max_window_layers": 2}
                """);
        assertThat(IntStream.range(0, 4).map(c::slidingWindow).toArray()).containsExactly(0, 0, 32, 32);
        assertThat(c.qkvBias()).isTrue();
    }

    @Test
    void modelTypeAloneNamesTheFamily() {
        LlamaConfig c = parse("""
                {"model_type": "gemma3_text", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                 "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 32}
                """);
        assertThat(c.architecture()).isEqualTo("Gemma3ForCausalLM");
        assertThat(c.offsetNorm()).isTrue();
    }

    @Test
    void anotherArchitectureIsAOneLineErrorListingTheSupportedOnes() {
        assertThatThrownBy(() -> parse("""
                {"architectures": ["GPTNeoXForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
                 "num_hidden_layers": 2, "num_attention_heads": 2}
                """))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("config.json: unsupported architecture GPTNeoXForCausalLM (supported: LlamaForCausalLM, "
                        + "MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, Gemma3ForCausalLM, "
                        + "Phi3ForCausalLM, SmolLM3ForCausalLM)");
        assertThatThrownBy(() -> parse("""
                {"model_type": "gpt_neox", "hidden_size": 64, "intermediate_size": 128,
                 "num_hidden_layers": 2, "num_attention_heads": 2}
                """))
                .hasMessageContaining("unknown model_type \"gpt_neox\"").hasMessageContaining("qwen3");
        assertThatThrownBy(() -> parse(PHI4_MINI.replace("\"longrope\"", "\"yarn\"")))
                .hasMessage("config.json: unsupported rope_scaling type \"yarn\" (supported: default, llama3, longrope)");
    }

    @Test
    void theLoaderRefusesAFamilyLayerItCannotRunYet() throws IOException {
        Files.writeString(dir.resolve("config.json"), QWEN3_0_6B);
        assertThatThrownBy(() -> ModelLoader.load(dir, LoadOptions.defaults()))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("does not run Qwen3ForCausalLM layers yet")
                .hasMessageNotContaining("\n");
    }
}
