package io.qlorastream.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.config.Projection;
import io.qlorastream.engine.quant.DynamicMap;
import io.qlorastream.engine.quant.Nf4Tensor;
import io.qlorastream.engine.safetensors.SafetensorsFile;
import io.qlorastream.engine.safetensors.TensorInfo;
import io.qlorastream.engine.tensor.DType;
import io.qlorastream.engine.tensor.DenseMatrix;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.qlorastream.engine.model.ModelLoaderTest.ODD;
import static io.qlorastream.engine.model.ModelLoaderTest.all;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class QuantizedCheckpointTest {
    @TempDir
    Path dir;

    private static void assertSameWeights(LlamaWeights a, LlamaWeights b) {
        assertThat(((DenseMatrix) b.tokenEmbedding).dtype()).isEqualTo(((DenseMatrix) a.tokenEmbedding).dtype());
        assertThat(((DenseMatrix) b.tokenEmbedding).rawRows(0, b.tokenEmbedding.rows()))
                .isEqualTo(((DenseMatrix) a.tokenEmbedding).rawRows(0, a.tokenEmbedding.rows()));
        assertThat(all(b.lmHead)).isEqualTo(all(a.lmHead));
        assertThat(b.finalNorm).isEqualTo(a.finalNorm);
        for (int i = 0; i < a.layers.length; i++) {
            assertThat(b.layers[i].inputNorm).isEqualTo(a.layers[i].inputNorm);
            assertThat(b.layers[i].postAttentionNorm).isEqualTo(a.layers[i].postAttentionNorm);
            for (Projection p : Projection.values()) {
                Nf4Tensor x = (Nf4Tensor) a.layers[i].projection(p).weight;
                Nf4Tensor y = (Nf4Tensor) b.layers[i].projection(p).weight;
                assertThat(y.packed()).isEqualTo(x.packed());
                assertThat(y.blockSize()).isEqualTo(x.blockSize());
                assertThat(y.doubleQuant()).isEqualTo(x.doubleQuant());
                assertThat(y.absmax()).isEqualTo(x.absmax());
                assertThat(y.quantizedAbsmax()).isEqualTo(x.quantizedAbsmax());
                assertThat(y.nestedAbsmax()).isEqualTo(x.nestedAbsmax());
                assertThat(y.nestedOffset()).isEqualTo(x.nestedOffset());
                assertThat(y.quantMap()).isEqualTo(x.quantMap());
                assertThat(all(y)).isEqualTo(all(x));
                assertThat(b.layers[i].projection(p).bias).isEqualTo(a.layers[i].projection(p).bias);
            }
        }
    }

    @Test
    void quantizeSaveLoadGivesTheSameBytes() throws IOException {
        Path src = dir.resolve("src");
        ModelMaker.write(src, ODD.withArchitecture("Qwen2ForCausalLM"), 17, DType.BF16);
        Files.writeString(src.resolve("tokenizer.json"), "{\"model\":{}}");
        Path out = dir.resolve("out");
        QuantizedCheckpoint.quantize(src, out, LoadOptions.defaults());
        assertThat(out.resolve("tokenizer.json")).hasContent("{\"model\":{}}");
        assertThat(out.resolve("generation_config.json")).exists();

        JsonNode q = QuantizedCheckpoint.quantizationConfig(out);
        assertThat(q.get("quant_method").asText()).isEqualTo("bitsandbytes");
        assertThat(q.get("load_in_4bit").asBoolean()).isTrue();
        assertThat(q.get("bnb_4bit_quant_type").asText()).isEqualTo("nf4");
        assertThat(q.get("bnb_4bit_use_double_quant").asBoolean()).isTrue();
        assertThat(q.get("bnb_4bit_compute_dtype").asText()).isEqualTo("bfloat16");
        assertThat(q.get("bnb_4bit_quant_storage").asText()).isEqualTo("uint8");
        assertThat(LlamaConfig.read(out).architecture()).isEqualTo("Qwen2ForCausalLM");

        try (LlamaWeights original = ModelLoader.load(src, LoadOptions.defaults());
             LlamaWeights reloaded = ModelLoader.load(out, LoadOptions.defaults())) {
            assertSameWeights(original, reloaded);
            // saving what was loaded from the quantized checkpoint writes the very same file
            Path again = dir.resolve("again");
            QuantizedCheckpoint.write(reloaded, (ObjectNode) new ObjectMapper().readTree(src.resolve("config.json").toFile()), again);
            assertThat(Files.readAllBytes(again.resolve("model.safetensors"))).isEqualTo(Files.readAllBytes(out.resolve("model.safetensors")));
        }
    }

    @Test
    void tensorsFollowBitsandbytesSerialization() throws IOException {
        Path src = dir.resolve("src");
        ModelMaker.write(src, ODD, 2, DType.BF16);
        Path out = dir.resolve("out");
        QuantizedCheckpoint.quantize(src, out, LoadOptions.defaults());
        String w = "model.layers.0.self_attn.q_proj.weight"; // [96, 96]: 9216 values, 144 blocks, 1 nested block
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("model.safetensors"));
             LlamaWeights loaded = ModelLoader.load(src, LoadOptions.defaults())) {
            Nf4Tensor t = (Nf4Tensor) loaded.layers[0].q.weight;
            assertThat(f.info(w).dtype()).isEqualTo(DType.U8);
            assertThat(f.info(w).shape()).containsExactly(4608, 1);
            assertThat(f.info(w + ".absmax").dtype()).isEqualTo(DType.U8);
            assertThat(f.info(w + ".absmax").shape()).containsExactly(144);
            assertThat(f.readFloats(w + ".nested_absmax")).containsExactly(t.nestedAbsmax());
            assertThat(f.readFloats(w + ".quant_map")).containsExactly(Nf4Tensor.nf4Code());
            assertThat(f.readFloats(w + ".nested_quant_map")).containsExactly(DynamicMap.signed());
            String state = new String(f.readBytes(w + ".quant_state.bitsandbytes__nf4"), StandardCharsets.UTF_8);
            assertThat(state).isEqualTo("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"bfloat16\", \"shape\": [96, 96], "
                    + "\"nested_blocksize\": 256, \"nested_dtype\": \"float32\", \"nested_offset\": "
                    + QuantizedCheckpoint.pythonFloatRepr(t.nestedOffset()) + "}");
            assertThat(f.info(ModelLoader.EMBED).dtype()).isEqualTo(DType.BF16);
            assertThat(f.info(ModelLoader.LM_HEAD).dtype()).isEqualTo(DType.BF16);
            assertThat(f.info("model.layers.1.input_layernorm.weight").dtype()).isEqualTo(DType.BF16);
            for (String n : f.names()) {
                TensorInfo i = f.info(n);
                assertThat(n.contains("embed") || n.contains("norm") || n.startsWith("lm_head") || i.dtype() == DType.U8
                        || i.dtype() == DType.F32).as(n).isTrue();
            }
        }
    }

    @Test
    void withoutDoubleQuantAbsmaxIsFloat32() throws IOException {
        Path src = dir.resolve("src");
        ModelMaker.write(src, ODD.withBiases(true, false), 4, DType.F32);
        Path out = dir.resolve("out");
        LoadOptions options = new LoadOptions(128, false);
        QuantizedCheckpoint.quantize(src, out, options);
        String w = "model.layers.1.mlp.down_proj.weight";
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            assertThat(f.info(w + ".absmax").dtype()).isEqualTo(DType.F32);
            assertThat(f.contains(w + ".nested_absmax")).isFalse();
            assertThat(new String(f.readBytes(w + ".quant_state.bitsandbytes__nf4"), StandardCharsets.UTF_8))
                    .isEqualTo("{\"quant_type\": \"nf4\", \"blocksize\": 128, \"dtype\": \"float32\", \"shape\": [96, 200]}");
        }
        assertThat(QuantizedCheckpoint.quantizationConfig(out).get("bnb_4bit_use_double_quant").asBoolean()).isFalse();
        try (LlamaWeights a = ModelLoader.load(src, options); LlamaWeights b = ModelLoader.load(out, LoadOptions.defaults())) {
            assertSameWeights(a, b); // the checkpoint's own block size wins over the load options
        }
    }

    @Test
    void unsupportedQuantTypesAreErrorsNamingTheTensor() throws IOException {
        Path src = dir.resolve("src");
        ModelMaker.write(src, ODD, 4, DType.F32);
        Path out = dir.resolve("out");
        QuantizedCheckpoint.quantize(src, out, LoadOptions.defaults());
        String state = "model.layers.0.mlp.up_proj.weight.quant_state.bitsandbytes__nf4";
        Path file = out.resolve("model.safetensors");
        Path copy = dir.resolve("copy.safetensors");
        byte[] fp4 = "{\"quant_type\": \"fp4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [200, 96]}".getBytes(StandardCharsets.UTF_8);
        CheckpointCopy.copy(file, copy, n -> true, n -> n.equals(state) ? new CheckpointCopy.Replacement(DType.U8, new long[]{fp4.length}, fp4) : null);
        Files.move(copy, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertThatThrownBy(() -> ModelLoader.load(out, LoadOptions.defaults()))
                .hasMessage("tensor " + state + " in " + file + ": unsupported quant_type \"fp4\" (supported: nf4)");
        Files.writeString(out.resolve("config.json"), Files.readString(out.resolve("config.json")).replace("\"quant_method\" : \"bitsandbytes\"", "\"quant_method\" : \"gptq\""));
        assertThatThrownBy(() -> ModelLoader.load(out, LoadOptions.defaults())).hasMessageContaining("unsupported quantization_config.quant_method \"gptq\"");
    }

    @Test
    void pythonFloatReprMatchesPython() {
        assertThat(QuantizedCheckpoint.pythonFloatRepr(0.1f)).isEqualTo("0.10000000149011612");
        assertThat(QuantizedCheckpoint.pythonFloatRepr(1e-5)).isEqualTo("1e-05");
        assertThat(QuantizedCheckpoint.pythonFloatRepr(1.5e-7)).isEqualTo("1.5e-07");
        assertThat(QuantizedCheckpoint.pythonFloatRepr(0.0001)).isEqualTo("0.0001");
        assertThat(QuantizedCheckpoint.pythonFloatRepr(123.0)).isEqualTo("123.0");
        assertThat(QuantizedCheckpoint.pythonFloatRepr(-2.5)).isEqualTo("-2.5");
        assertThat(QuantizedCheckpoint.pythonFloatRepr(1e16)).isEqualTo("1e+16");
        assertThat(QuantizedCheckpoint.pythonFloatRepr(0.0)).isEqualTo("0.0");
        assertThat(QuantizedCheckpoint.pythonFloatRepr(0.0123f)).isEqualTo("0.012299999594688416");
    }
}
