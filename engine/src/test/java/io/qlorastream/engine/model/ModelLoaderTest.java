package io.qlorastream.engine.model;

import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.config.Projection;
import io.qlorastream.engine.quant.Nf4Tensor;
import io.qlorastream.engine.safetensors.SafetensorsCheckpoint;
import io.qlorastream.engine.safetensors.SafetensorsFile;
import io.qlorastream.engine.safetensors.TensorInfo;
import io.qlorastream.engine.tensor.DType;
import io.qlorastream.engine.tensor.DenseMatrix;
import io.qlorastream.engine.tensor.WeightMatrix;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelLoaderTest {
    @TempDir
    Path dir;

    /** A small shape with odd sizes and GQA. */
    static final ModelShape ODD = ModelShape.llama(96, 2, 6, 2, 200, 300);

    static float[] all(WeightMatrix m) {
        float[] out = new float[m.rows() * m.cols()];
        m.dequantizeRows(0, m.rows(), out, 0);
        return out;
    }

    /** Every weight of the loaded model equals the file's tensor (dense exactly, projections as NF4 of the file's values). */
    static void assertMatchesFile(LlamaWeights w, Path modelDir, LoadOptions options) throws IOException {
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(modelDir)) {
            assertThat(all(w.tokenEmbedding)).isEqualTo(c.fileOf(ModelLoader.EMBED).readFloats(ModelLoader.EMBED));
            assertThat(w.finalNorm).isEqualTo(c.fileOf(ModelLoader.FINAL_NORM).readFloats(ModelLoader.FINAL_NORM));
            if (!w.config.tieWordEmbeddings()) {
                assertThat(all(w.lmHead)).isEqualTo(c.fileOf(ModelLoader.LM_HEAD).readFloats(ModelLoader.LM_HEAD));
            }
            for (int i = 0; i < w.layers.length; i++) {
                LayerWeights l = w.layers[i];
                String p = ModelLoader.layerPrefix(i);
                assertThat(l.inputNorm).isEqualTo(c.fileOf(p + "input_layernorm.weight").readFloats(p + "input_layernorm.weight"));
                assertThat(l.postAttentionNorm).isEqualTo(c.fileOf(p + "post_attention_layernorm.weight").readFloats(p + "post_attention_layernorm.weight"));
                for (Projection proj : Projection.values()) {
                    String key = ModelLoader.projectionKey(i, proj);
                    Linear lin = l.projection(proj);
                    float[] original = c.fileOf(key + ".weight").readFloats(key + ".weight");
                    Nf4Tensor expected = Nf4Tensor.quantize(original, lin.outFeatures(), lin.inFeatures(), options.blockSize(), options.doubleQuant());
                    Nf4Tensor actual = (Nf4Tensor) lin.weight;
                    assertThat(actual.packed()).as(key).isEqualTo(expected.packed());
                    assertThat(all(actual)).as(key).isEqualTo(all(expected));
                    if (c.contains(key + ".bias")) {
                        assertThat(lin.bias).as(key + ".bias").isEqualTo(c.fileOf(key + ".bias").readFloats(key + ".bias"));
                    } else {
                        assertThat(lin.bias).as(key + ".bias").isNull();
                    }
                }
            }
        }
    }

    @Test
    void loadsAMadeModelQuantizingEveryProjection() throws IOException {
        ModelMaker.write(dir, ODD, 42, DType.F32);
        try (LlamaWeights w = ModelLoader.load(dir, LoadOptions.defaults())) {
            assertThat(w.config.hiddenSize()).isEqualTo(96);
            assertThat(w.config.numKvHeads()).isEqualTo(2);
            assertThat(w.layers).hasSize(2);
            assertThat(w.tokenEmbedding).isInstanceOf(DenseMatrix.class);
            assertThat(((DenseMatrix) w.tokenEmbedding).dtype()).isEqualTo(DType.F32);
            assertThat(w.tied()).isFalse();
            assertThat(w.layers[0].k.outFeatures()).isEqualTo(32);
            assertThat(w.layers[1].down.inFeatures()).isEqualTo(200);
            assertMatchesFile(w, dir, LoadOptions.defaults());
            long nf4 = 0;
            for (LayerWeights l : w.layers) {
                for (Projection p : Projection.values()) {
                    nf4 += l.projection(p).weight.residentBytes();
                }
            }
            assertThat(w.residentBytes()).isEqualTo(nf4 + 2L * 300 * 96 * 4 + 96 * 4 + 2 * 2 * 96 * 4);
        }
        LoadOptions plain = new LoadOptions(128, false);
        try (LlamaWeights w = ModelLoader.load(dir, plain)) {
            assertThat(((Nf4Tensor) w.layers[0].q.weight).doubleQuant()).isFalse();
            assertThat(((Nf4Tensor) w.layers[0].q.weight).blockSize()).isEqualTo(128);
            assertMatchesFile(w, dir, plain);
        }
    }

    @Test
    void bf16ModelsKeepBf16EmbeddingsAndTiedHeadsShareThem() throws IOException {
        ModelMaker.write(dir, ODD.withTiedEmbeddings(true), 7, DType.BF16);
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            assertThat(f.contains(ModelLoader.LM_HEAD)).isFalse();
            assertThat(f.info(ModelLoader.EMBED).dtype()).isEqualTo(DType.BF16);
        }
        try (LlamaWeights w = ModelLoader.load(dir, LoadOptions.defaults())) {
            assertThat(w.tied()).isTrue();
            assertThat(w.lmHead).isSameAs(w.tokenEmbedding);
            assertThat(((DenseMatrix) w.tokenEmbedding).dtype()).isEqualTo(DType.BF16);
            assertThat(w.tokenEmbedding.residentBytes()).isEqualTo(300L * 96 * 2);
            assertMatchesFile(w, dir, LoadOptions.defaults());
        }
    }

    @Test
    void qwen2AndLlamaBiasesAreLoaded() throws IOException {
        Path qwen = dir.resolve("qwen");
        ModelMaker.write(qwen, ODD.withArchitecture("Qwen2ForCausalLM"), 3, DType.F32);
        try (LlamaWeights w = ModelLoader.load(qwen, LoadOptions.defaults())) {
            assertThat(w.config.qkvBias()).isTrue();
            for (LayerWeights l : w.layers) {
                assertThat(l.q.bias).hasSize(96);
                assertThat(l.k.bias).hasSize(32);
                assertThat(l.v.bias).hasSize(32);
                assertThat(l.o.bias).isNull();
                assertThat(l.gate.bias).isNull();
            }
            assertMatchesFile(w, qwen, LoadOptions.defaults());
        }
        Path llama = dir.resolve("llama");
        ModelMaker.write(llama, ODD.withBiases(true, true), 3, DType.F16);
        try (LlamaWeights w = ModelLoader.load(llama, LoadOptions.defaults())) {
            for (Projection p : Projection.values()) {
                assertThat(w.layers[1].projection(p).bias).as(p.peftName()).hasSize(w.layers[1].projection(p).outFeatures());
            }
            assertMatchesFile(w, llama, LoadOptions.defaults());
        }
    }

    @Test
    void shardedCheckpointsLoadLikeOneFile() throws IOException {
        Path single = dir.resolve("single");
        ModelMaker.write(single, ODD, 5, DType.BF16);
        Path sharded = dir.resolve("sharded");
        Files.createDirectories(sharded);
        Files.copy(single.resolve("config.json"), sharded.resolve("config.json"));
        StringBuilder map = new StringBuilder();
        try (SafetensorsFile f = SafetensorsFile.open(single.resolve("model.safetensors"))) {
            for (String n : f.names()) {
                String shard = n.startsWith("model.layers.1.") || n.equals(ModelLoader.LM_HEAD)
                        ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors";
                map.append(map.length() == 0 ? "" : ",").append('"').append(n).append("\":\"").append(shard).append('"');
            }
        }
        Path src = single.resolve("model.safetensors");
        CheckpointCopy.copy(src, sharded.resolve("model-00001-of-00002.safetensors"),
                n -> !(n.startsWith("model.layers.1.") || n.equals(ModelLoader.LM_HEAD)), n -> null);
        CheckpointCopy.copy(src, sharded.resolve("model-00002-of-00002.safetensors"),
                n -> n.startsWith("model.layers.1.") || n.equals(ModelLoader.LM_HEAD), n -> null);
        Files.writeString(sharded.resolve(SafetensorsCheckpoint.INDEX_FILE), "{\"metadata\":{},\"weight_map\":{" + map + "}}");
        try (LlamaWeights a = ModelLoader.load(single, LoadOptions.defaults());
             LlamaWeights b = ModelLoader.load(sharded, LoadOptions.defaults())) {
            assertThat(all(b.lmHead)).isEqualTo(all(a.lmHead));
            assertThat(all(b.tokenEmbedding)).isEqualTo(all(a.tokenEmbedding));
            for (int i = 0; i < 2; i++) {
                for (Projection p : Projection.values()) {
                    assertThat(((Nf4Tensor) b.layers[i].projection(p).weight).packed())
                            .isEqualTo(((Nf4Tensor) a.layers[i].projection(p).weight).packed());
                }
                assertThat(b.layers[i].inputNorm).isEqualTo(a.layers[i].inputNorm);
            }
        }
    }

    @Test
    void missingTensorsBadDtypesAndShapesAreOneLineErrorsNamingTheTensorAndFile() throws IOException {
        Path good = dir.resolve("good");
        ModelMaker.write(good, ODD, 1, DType.F32);
        Path bad = dir.resolve("bad");
        Files.createDirectories(bad);
        Files.copy(good.resolve("config.json"), bad.resolve("config.json"));
        Path file = bad.resolve("model.safetensors");
        String up = "model.layers.1.mlp.up_proj.weight";

        CheckpointCopy.copy(good.resolve("model.safetensors"), file, n -> !n.equals(up), n -> null);
        assertThatThrownBy(() -> ModelLoader.load(bad, LoadOptions.defaults()))
                .isInstanceOf(IOException.class).hasMessage("missing tensor " + up + " in " + file);

        CheckpointCopy.copy(good.resolve("model.safetensors"), file, n -> true,
                n -> n.equals(up) ? new CheckpointCopy.Replacement(DType.I32, new long[]{200, 96}, new byte[200 * 96 * 4]) : null);
        assertThatThrownBy(() -> ModelLoader.load(bad, LoadOptions.defaults()))
                .hasMessage("tensor " + up + " in " + file + " has unsupported dtype I32 (expected F32, F16 or BF16)");

        CheckpointCopy.copy(good.resolve("model.safetensors"), file, n -> true,
                n -> n.equals(up) ? new CheckpointCopy.Replacement(DType.F32, new long[]{96, 200}, new byte[200 * 96 * 4]) : null);
        assertThatThrownBy(() -> ModelLoader.load(bad, LoadOptions.defaults()))
                .hasMessage("tensor " + up + " in " + file + " has shape [96, 200], expected [200, 96]");

        Files.writeString(bad.resolve("config.json"), Files.readString(good.resolve("config.json"))
                .replace("LlamaForCausalLM", "GPT2LMHeadModel"));
        assertThatThrownBy(() -> ModelLoader.load(bad, LoadOptions.defaults())).hasMessageContaining("unsupported architecture GPT2LMHeadModel");
    }

    @Test
    void madeModelsAreDeterministicForASeedAndMatchTheirShape() throws IOException {
        Path a = dir.resolve("a"), b = dir.resolve("b"), c = dir.resolve("c");
        ModelShape tiny = ModelShape.preset("tiny");
        ModelMaker.write(a, tiny, 9, DType.BF16);
        ModelMaker.write(b, tiny, 9, DType.BF16);
        ModelMaker.write(c, tiny, 10, DType.BF16);
        assertThat(Files.readAllBytes(a.resolve("model.safetensors"))).isEqualTo(Files.readAllBytes(b.resolve("model.safetensors")));
        assertThat(Files.readAllBytes(a.resolve("model.safetensors"))).isNotEqualTo(Files.readAllBytes(c.resolve("model.safetensors")));
        assertThat(Files.readString(a.resolve("config.json"))).isEqualTo(Files.readString(b.resolve("config.json")));
        assertThat(a.resolve("generation_config.json")).exists();
        LlamaConfig config = LlamaConfig.read(a);
        assertThat(config.torchDtype()).isEqualTo("bfloat16");
        assertThat(config.numKvHeads()).isEqualTo(tiny.kvHeads());
        assertThat(config.eosTokenIds()).containsExactly(2);
        long params = 0;
        try (SafetensorsFile f = SafetensorsFile.open(a.resolve("model.safetensors"))) {
            assertThat(f.metadata()).isEqualTo(Map.of("format", "pt"));
            for (String n : f.names()) {
                TensorInfo t = f.info(n);
                assertThat(t.dtype()).isEqualTo(DType.BF16);
                params += t.numel();
            }
            // the values look like N(0, 0.02)
            float[] q = f.readFloats("model.layers.0.self_attn.q_proj.weight");
            double sq = 0;
            for (float v : q) {
                sq += v * v;
            }
            assertThat(Math.sqrt(sq / q.length)).isBetween(0.019, 0.021);
        }
        assertThat(params).isEqualTo(tiny.parameterCount());
        assertThat(params).isBetween(900_000L, 1_100_000L);
        assertThat(ModelShape.preset("small").parameterCount()).isBetween(15_000_000L, 25_000_000L);
        assertThat(ModelShape.preset("base").parameterCount()).isBetween(105_000_000L, 115_000_000L);
        assertThat(ModelShape.preset("1b").parameterCount()).isEqualTo(1_100_048_384L); // TinyLlama-1.1B
        assertThat(ModelMaker.tensors(ModelShape.preset("1b"), DType.BF16)).hasSize(3 + 22 * 9);
        assertThatThrownBy(() -> ModelShape.preset("huge")).hasMessageContaining("unknown preset huge");
    }
}
