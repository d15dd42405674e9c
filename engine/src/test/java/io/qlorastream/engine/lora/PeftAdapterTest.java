package io.qlorastream.engine.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.config.Projection;
import io.qlorastream.engine.safetensors.SafetensorsFile;
import io.qlorastream.engine.safetensors.SafetensorsWriter;
import io.qlorastream.engine.tensor.DType;
import io.qlorastream.engine.tensor.Floats;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PeftAdapterTest {
    @TempDir
    Path dir;
    final LlamaConfig model = TestModels.small();

    static LoraAdapter trained(LoraConfig c, LlamaConfig model, long seed) {
        LoraAdapter a = LoraAdapter.initialize(c, model, seed);
        Random rnd = new Random(seed);
        for (int i = 0; i < a.params.length; i++) {
            a.params[i] += (float) rnd.nextGaussian() * 1e-3f; // B no longer zero, as after training
        }
        return a;
    }

    @Test
    void saveThenLoadIsBitIdenticalAndFilesAreAsPeftWritesThem() throws IOException {
        LoraConfig c = LoraConfig.qloraDefaults().withR(4).withAlpha(8).withTargets(List.of("q", "v", "down")).withRslora(true);
        LoraAdapter a = trained(c, model, 3);
        PeftAdapter.save(a, dir, "org/base-model");
        LoraAdapter b = PeftAdapter.load(dir, model);
        assertThat(b.config).isEqualTo(c);
        assertThat(b.params).isEqualTo(a.params);

        JsonNode j = new ObjectMapper().readTree(dir.resolve("adapter_config.json").toFile());
        assertThat(j.get("peft_type").asText()).isEqualTo("LORA");
        assertThat(j.get("task_type").asText()).isEqualTo("CAUSAL_LM");
        assertThat(j.get("r").asInt()).isEqualTo(4);
        assertThat(j.get("lora_alpha").isIntegralNumber()).isTrue();
        assertThat(j.get("lora_alpha").asInt()).isEqualTo(8);
        assertThat(j.get("lora_dropout").asDouble()).isEqualTo(0.05);
        assertThat(j.get("target_modules")).extracting(JsonNode::asText).containsExactly("q_proj", "v_proj", "down_proj");
        assertThat(j.get("bias").asText()).isEqualTo("none");
        assertThat(j.get("use_rslora").asBoolean()).isTrue();
        assertThat(j.get("use_dora").asBoolean()).isFalse();
        assertThat(j.get("fan_in_fan_out").asBoolean()).isFalse();
        assertThat(j.get("modules_to_save").isNull()).isTrue();
        assertThat(j.get("layers_to_transform").isNull()).isTrue();
        assertThat(j.get("rank_pattern").isEmpty()).isTrue();
        assertThat(j.get("alpha_pattern").isEmpty()).isTrue();
        assertThat(j.get("base_model_name_or_path").asText()).isEqualTo("org/base-model");
        assertThat(j.get("init_lora_weights").asBoolean()).isTrue();
        assertThat(j.get("inference_mode").asBoolean()).isTrue();
        assertThat(j.has("revision")).isTrue();
        List<String> names = new ArrayList<>();
        j.fieldNames().forEachRemaining(names::add);
        assertThat(names).isSorted(); // PEFT writes json.dumps(..., sort_keys=True)
        assertThat(Files.readString(dir.resolve("adapter_config.json"))).contains("\n  \"bias\": \"none\",\n");

        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("adapter_model.safetensors"))) {
            assertThat(f.metadata()).isEqualTo(Map.of("format", "pt"));
            assertThat(f.names()).hasSize(3 * 3 * 2);
            String qa = "base_model.model.model.layers.2.self_attn.q_proj.lora_A.weight";
            assertThat(f.info(qa).shape()).containsExactly(4, 24);
            assertThat(f.info(qa).dtype()).isEqualTo(DType.F32);
            assertThat(f.info("base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight").shape()).containsExactly(12, 4);
            assertThat(f.info("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight").shape()).containsExactly(4, 40);
            assertThat(f.info("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight").shape()).containsExactly(24, 4);
            LoraModule m = a.module(2, Projection.Q);
            assertThat(f.readFloats(qa)).isEqualTo(java.util.Arrays.copyOfRange(a.params, m.aOffset, m.aOffset + m.r * m.in));
        }
    }

    /** A config as Python PEFT writes it (field set of peft 0.13, targets in set order, alpha an int). */
    static String pythonConfig(String targets, int r, int alpha) {
        return "{\n  \"alpha_pattern\": {},\n  \"auto_mapping\": null,\n  \"base_model_name_or_path\": \"TinyLlama/TinyLlama-1.1B\",\n"
                + "  \"bias\": \"none\",\n  \"fan_in_fan_out\": false,\n  \"inference_mode\": true,\n  \"init_lora_weights\": true,\n"
                + "  \"layer_replication\": null,\n  \"layers_pattern\": null,\n  \"layers_to_transform\": null,\n  \"loftq_config\": {},\n"
                + "  \"lora_alpha\": " + alpha + ",\n  \"lora_dropout\": 0.1,\n  \"megatron_config\": null,\n  \"megatron_core\": \"megatron.core\",\n"
                + "  \"modules_to_save\": null,\n  \"peft_type\": \"LORA\",\n  \"r\": " + r + ",\n  \"rank_pattern\": {},\n  \"revision\": null,\n"
                + "  \"target_modules\": " + targets + ",\n  \"task_type\": \"CAUSAL_LM\",\n  \"use_dora\": false,\n  \"use_rslora\": false\n}";
    }

    /** Writes the adapter's tensors by hand in {@code dtype}, with keys built by {@code keyOf}. */
    static void writeByHand(LoraAdapter a, Path file, DType dtype, java.util.function.BiFunction<LoraModule, Character, String> keyOf) throws IOException {
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        for (LoraModule m : a.modules()) {
            entries.add(new SafetensorsWriter.Entry(keyOf.apply(m, 'A'), dtype, new long[]{m.r, m.in}));
            entries.add(new SafetensorsWriter.Entry(keyOf.apply(m, 'B'), dtype, new long[]{m.out, m.r}));
        }
        try (SafetensorsWriter w = SafetensorsWriter.create(file, entries, Map.of("format", "pt"))) {
            for (LoraModule m : a.modules()) {
                w.writeFloats(keyOf.apply(m, 'A'), 0, a.params, m.aOffset, m.r * m.in);
                w.writeFloats(keyOf.apply(m, 'B'), 0, a.params, m.bOffset, m.out * m.r);
            }
        }
    }

    static float roundTrip(float v, DType dtype) {
        return switch (dtype) {
            case BF16 -> Floats.bf16ToFloat(Floats.floatToBf16(v));
            case F16 -> Floats.f16ToFloat(Floats.floatToF16(v));
            default -> v;
        };
    }

    @Test
    void loadsPythonPeftAdaptersInF32F16AndBf16WithOrWithoutAdapterName() throws IOException {
        LoraConfig c = new LoraConfig(8, 16, 0.1, List.of("v_proj", "q_proj", "o_proj", "up_proj"), false);
        LoraAdapter a = trained(c, model, 5);
        for (DType dtype : List.of(DType.F32, DType.F16, DType.BF16)) {
            for (boolean named : new boolean[]{false, true}) {
                Path d = dir.resolve(dtype + "-" + named);
                Files.createDirectories(d);
                Files.writeString(d.resolve("adapter_config.json"), pythonConfig("[\n    \"v_proj\",\n    \"up_proj\",\n    \"q_proj\",\n    \"o_proj\"\n  ]", 8, 16));
                writeByHand(a, d.resolve("adapter_model.safetensors"), dtype, (m, ab) -> named
                        ? "base_model.model.model.layers." + m.layer + "." + (m.projection == Projection.UP ? "mlp." : "self_attn.") + m.projection + ".lora_" + ab + ".default.weight"
                        : PeftAdapter.key(m.layer, m.projection, ab));
                LoraAdapter b = PeftAdapter.load(d, model);
                assertThat(b.config).isEqualTo(c);
                for (int i = 0; i < a.params.length; i++) {
                    assertThat(b.params[i]).as("%s element %d", dtype, i).isEqualTo(roundTrip(a.params[i], dtype));
                }
            }
        }
    }

    @Test
    void allLinearTargetsEveryProjection() throws IOException {
        LoraAdapter a = trained(LoraConfig.qloraDefaults().withR(2).withDropout(0.1).withAlpha(16), model, 9);
        Files.writeString(dir.resolve("adapter_config.json"), pythonConfig("\"all-linear\"", 2, 16));
        writeByHand(a, dir.resolve("adapter_model.safetensors"), DType.BF16, (m, ab) -> PeftAdapter.key(m.layer, m.projection, ab));
        assertThat(PeftAdapter.load(dir, model).config.targetModules()).isEqualTo(LoraConfig.ALL_TARGETS);
    }

    @Test
    void misshapenMissingOrUnexpectedTensorsAreOneLineErrorsNamingTheKey() throws IOException {
        LoraConfig c = LoraConfig.qloraDefaults().withR(4).withTargets(List.of("q", "k"));
        PeftAdapter.save(trained(c, model, 1), dir, "base");
        LlamaConfig otherShape = new LlamaConfig("LlamaForCausalLM", "llama", 100, 24, 40, 3, 4, 4, 6, 1e-5, 10000.0, null, 128,
                false, false, false, false, 1, List.of(2), "float32"); // 4 KV heads: k_proj is [24, 24]
        assertThatThrownBy(() -> PeftAdapter.load(dir, otherShape))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight has shape [12, 4], expected [24, 4]")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));

        LlamaConfig fewerLayers = new LlamaConfig("LlamaForCausalLM", "llama", 100, 24, 40, 2, 4, 2, 6, 1e-5, 10000.0, null, 128,
                false, false, false, false, 1, List.of(2), "float32");
        assertThatThrownBy(() -> PeftAdapter.load(dir, fewerLayers)).hasMessageContaining("layers.2.").hasMessageContaining("2 layers");

        Path missing = dir.resolve("missing");
        Files.createDirectories(missing);
        Files.copy(dir.resolve("adapter_config.json"), missing.resolve("adapter_config.json"));
        LoraAdapter a = trained(c, model, 1);
        writeByHand(a, missing.resolve("adapter_model.safetensors"), DType.F32, (m, ab) ->
                m.layer == 1 && m.projection == Projection.K && ab == 'B' ? "base_model.model.lm_head.lora_B.weight" : PeftAdapter.key(m.layer, m.projection, ab));
        assertThatThrownBy(() -> PeftAdapter.load(missing, model)).hasMessageContaining("unexpected tensor base_model.model.lm_head.lora_B.weight");

        Path untargeted = dir.resolve("untargeted");
        Files.createDirectories(untargeted);
        Files.writeString(untargeted.resolve("adapter_config.json"), pythonConfig("[\"q_proj\"]", 4, 16));
        Files.copy(dir.resolve("adapter_model.safetensors"), untargeted.resolve("adapter_model.safetensors"));
        assertThatThrownBy(() -> PeftAdapter.load(untargeted, model)).hasMessageContaining("k_proj.lora_A.weight is for k_proj, which target_modules [q_proj] does not list");
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        LoraConfig c = LoraConfig.qloraDefaults().withR(4).withTargets(List.of("q", "k"));
        LoraAdapter a = trained(c, model, 1);
        Files.writeString(dir.resolve("adapter_config.json"), pythonConfig("[\"q_proj\", \"k_proj\", \"gate_proj\"]", 4, 16));
        writeByHand(a, dir.resolve("adapter_model.safetensors"), DType.F16, (m, ab) -> PeftAdapter.key(m.layer, m.projection, ab));
        assertThatThrownBy(() -> PeftAdapter.load(dir, model)).hasMessageContaining("missing tensor base_model.model.model.layers.0.mlp.gate_proj.lora_A.weight");
    }

    @Test
    void unsupportedConfigSettingsAreNamed() throws IOException {
        String base = pythonConfig("[\"q_proj\"]", 4, 16);
        for (String[] change : new String[][]{
                {"\"use_dora\": false", "\"use_dora\": true", "use_dora"},
                {"\"bias\": \"none\"", "\"bias\": \"all\"", "bias \"all\""},
                {"\"modules_to_save\": null", "\"modules_to_save\": [\"lm_head\"]", "modules_to_save"},
                {"\"rank_pattern\": {}", "\"rank_pattern\": {\"q_proj\": 8}", "rank_pattern"},
                {"\"layers_to_transform\": null", "\"layers_to_transform\": [0]", "layers_to_transform"},
                {"\"peft_type\": \"LORA\"", "\"peft_type\": \"IA3\"", "peft_type IA3"},
                {"\"target_modules\": [\"q_proj\"]", "\"target_modules\": [\"embed_tokens\"]", "'embed_tokens'"}}) {
            Files.writeString(dir.resolve("adapter_config.json"), base.replace(change[0], change[1]));
            assertThatThrownBy(() -> PeftAdapter.readConfig(dir)).as(change[2]).hasMessageContaining(change[2]).hasMessageContaining("adapter_config.json");
        }
    }

    @Test
    void savesHalfPrecisionCopiesForServing() throws IOException {
        LoraAdapter a = trained(LoraConfig.qloraDefaults().withR(2).withTargets(List.of("o", "gate")), model, 12);
        for (DType dtype : List.of(DType.BF16, DType.F16)) {
            Path d = dir.resolve(dtype.name());
            PeftAdapter.save(a, d, "base", dtype);
            try (SafetensorsFile f = SafetensorsFile.open(d.resolve("adapter_model.safetensors"))) {
                for (String name : f.names()) {
                    assertThat(f.info(name).dtype()).isEqualTo(dtype);
                }
            }
            LoraAdapter b = PeftAdapter.load(d, model);
            for (int i = 0; i < a.params.length; i++) {
                assertThat(b.params[i]).isEqualTo(roundTrip(a.params[i], dtype));
            }
        }
        assertThatThrownBy(() -> PeftAdapter.save(a, dir.resolve("i8"), "base", DType.I8)).hasMessageContaining("I8");
    }
}
