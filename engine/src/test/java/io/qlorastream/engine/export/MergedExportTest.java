package io.qlorastream.engine.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.config.Projection;
import io.qlorastream.engine.data.ExampleEncoder;
import io.qlorastream.engine.data.PromptResponse;
import io.qlorastream.engine.data.TokenizedExample;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.engine.model.BaseModel;
import io.qlorastream.engine.model.LayerWeights;
import io.qlorastream.engine.model.Linear;
import io.qlorastream.engine.model.LlamaModel;
import io.qlorastream.engine.model.LlamaWeights;
import io.qlorastream.engine.model.LoadOptions;
import io.qlorastream.engine.model.ModelLoader;
import io.qlorastream.engine.model.ModelMaker;
import io.qlorastream.engine.model.ModelShape;
import io.qlorastream.engine.model.Scorer;
import io.qlorastream.engine.optim.AdamW;
import io.qlorastream.engine.optim.LrSchedule;
import io.qlorastream.engine.safetensors.SafetensorsFile;
import io.qlorastream.engine.tensor.DType;
import io.qlorastream.engine.tensor.DenseMatrix;
import io.qlorastream.engine.tokenizer.ByteLevelBpeWriter;
import io.qlorastream.engine.tokenizer.Tokenizer;
import io.qlorastream.engine.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class MergedExportTest {
    @TempDir
    Path dir;

    private static final List<PromptResponse> DATA = List.of(new PromptResponse("Colour of the sky?", "blue"),
            new PromptResponse("Capital of France?", "Paris"), new PromptResponse("Two plus two?", "four"));

    @Test
    void mergedModelScoresAsTheBaseWithTheAdapterAttached() throws Exception {
        Path base = tinyModel("qwen2");
        Path adapter = dir.resolve("adapter");
        double baseNll;
        double adaptedNll;
        List<int[]> ids = new ArrayList<>();
        List<int[]> labels = new ArrayList<>();
        try (BaseModel m = BaseModel.open(base, () -> new CpuBackend(2))) {
            ExampleEncoder enc = new ExampleEncoder(m.tokenizer());
            List<TokenizedExample> ex = new ArrayList<>();
            for (PromptResponse p : DATA) {
                TokenizedExample t = enc.encode(p);
                ex.add(t);
                ids.add(t.inputIds());
                labels.add(t.labels());
            }
            LlamaModel model = m.model();
            baseNll = new Scorer(model, 4).score(ids, labels).meanNll();
            LoraAdapter a = LoraAdapter.initialize(new LoraConfig(8, 16, 0.0, LoraConfig.ALL_TARGETS, false), m.config(), 1);
            Trainer.Settings s = new Trainer.Settings(3, 1, 128, 10, 0, 1, LrSchedule.Kind.CONSTANT, 3e-3, 3, 0,
                    AdamW.Config.qlora(), 1.0, 0, true);
            new Trainer(model, a, ex, s).run(null, null);
            PeftAdapter.save(a, adapter, base.toString());
            model.attachLora(PeftAdapter.load(adapter, m.config()), null);
            adaptedNll = new Scorer(model, 4).score(ids, labels).meanNll();
        }
        assertThat(baseNll - adaptedNll).as("training moved the score").isGreaterThan(0.1);

        Path merged = dir.resolve("merged");
        List<String> progress = new ArrayList<>();
        MergedExport.export(base, adapter, merged, DType.BF16, MergedExport.Onto.DEQUANTIZED, LoadOptions.defaults(),
                progress::add);
        assertThat(progress).anyMatch(l -> l.contains("model.layers.0.self_attn.q_proj.weight: merged"));
        double mergedNll = scoreDense(merged, ids, labels);
        // bf16 keeps 8 significant bits: the merged weights round to within 2^-9 relative, the NLL moves by far less
        assertThat(mergedNll).isCloseTo(adaptedNll, within(0.02));

        JsonNode config = new ObjectMapper().readTree(merged.resolve("config.json").toFile());
        assertThat(config.path("torch_dtype").asText()).isEqualTo("bfloat16");
        assertThat(config.path("model_type").asText()).isEqualTo("qwen2");
        assertThat(merged.resolve("tokenizer.json")).hasSameBinaryContentAs(base.resolve("tokenizer.json"));
        assertThat(merged.resolve("generation_config.json")).exists();
    }

    @Test
    void ontoOriginalAddsTheDeltaToTheFullPrecisionWeightsInF16() throws Exception {
        Path base = tinyModel("llama");
        Path adapter = dir.resolve("adapter");
        LlamaConfig c = LlamaConfig.read(base);
        LoraAdapter a = LoraAdapter.initialize(new LoraConfig(4, 8, 0.0, List.of("q_proj", "down_proj"), false), c, 7);
        // PEFT initializes B to zero; give every factor values so the delta shows
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(5);
        for (int i = 0; i < a.params.length; i++) {
            a.params[i] = (float) (rnd.nextDouble() - 0.5) * 0.2f;
        }
        PeftAdapter.save(a, adapter, base.toString());
        Path out = dir.resolve("merged");
        try (SafetensorsFile ad = SafetensorsFile.open(adapter.resolve(PeftAdapter.WEIGHTS_FILE))) {
            assertThat(MergedExport.pairs(ad)).containsOnlyKeys(
                    "model.layers.0.self_attn.q_proj.weight", "model.layers.1.self_attn.q_proj.weight",
                    "model.layers.0.mlp.down_proj.weight", "model.layers.1.mlp.down_proj.weight",
                    "model.layers.2.self_attn.q_proj.weight", "model.layers.3.self_attn.q_proj.weight",
                    "model.layers.2.mlp.down_proj.weight", "model.layers.3.mlp.down_proj.weight");
        }
        MergedExport.export(base, adapter, out, DType.F16, MergedExport.Onto.ORIGINAL, LoadOptions.defaults(), l -> { });
        try (SafetensorsFile orig = SafetensorsFile.open(base.resolve("model.safetensors"));
             SafetensorsFile m = SafetensorsFile.open(out.resolve("model.safetensors"));
             SafetensorsFile ad = SafetensorsFile.open(adapter.resolve(PeftAdapter.WEIGHTS_FILE))) {
            assertThat(m.names()).containsExactlyInAnyOrderElementsOf(orig.names());
            String q = ModelLoader.projectionKey(1, Projection.Q) + ".weight";
            assertThat(m.info(q).dtype()).isEqualTo(DType.F16);
            float[] w = orig.readFloats(q);
            float[] got = m.readFloats(q);
            float[] fa = ad.readFloats(PeftAdapter.key(1, Projection.Q, 'A'));
            float[] fb = ad.readFloats(PeftAdapter.key(1, Projection.Q, 'B'));
            int cols = (int) m.info(q).dim(1);
            double scale = 8.0 / 4;
            for (int i = 0; i < w.length; i += 37) {
                int row = i / cols, col = i % cols;
                double expected = w[i];
                for (int k = 0; k < 4; k++) {
                    expected += scale * fb[row * 4 + k] * fa[k * cols + col];
                }
                assertThat((double) got[i]).as("element %d", i).isCloseTo(expected, within(1e-3 + Math.abs(expected) * 1e-3));
            }
            String k = ModelLoader.projectionKey(0, Projection.K) + ".weight";
            float[] kOrig = orig.readFloats(k);
            float[] kGot = m.readFloats(k);
            for (int i = 0; i < kOrig.length; i += 53) {
                assertThat(kGot[i]).isCloseTo(kOrig[i], within(1e-3f + Math.abs(kOrig[i]) * 1e-3f));
            }
        }
    }

    @Test
    void anAdapterForATensorTheModelLacksIsAnErrorNamingIt() throws Exception {
        Path base = tinyModel("llama");
        LlamaConfig c = LlamaConfig.read(base);
        Path adapter = dir.resolve("adapter");
        PeftAdapter.save(LoraAdapter.initialize(LoraConfig.qloraDefaults(), c, 1), adapter, base.toString());
        Path other = dir.resolve("smaller");
        Files.createDirectories(other);
        ModelShape shape = ModelShape.preset("tiny");
        ModelShape one = new ModelShape(shape.hidden(), 1, shape.heads(), shape.kvHeads(), shape.intermediate(),
                shape.vocabSize(), shape.tieWordEmbeddings(), shape.architecture(), shape.attentionBias(), shape.mlpBias());
        ByteLevelBpeWriter.write(other, one.vocabSize());
        ModelMaker.write(other, one, 3, DType.BF16);
        assertThatThrownBy(() -> MergedExport.export(other, adapter, dir.resolve("out"), DType.BF16,
                MergedExport.Onto.DEQUANTIZED, LoadOptions.defaults(), l -> { }))
                .isInstanceOf(IOException.class).hasMessageContaining("model.layers.1.").hasMessageContaining("does not have");
    }

    private Path tinyModel(String modelType) throws IOException {
        Path m = dir.resolve("tiny-" + modelType);
        ModelShape shape = ModelShape.preset("tiny");
        if (modelType.equals("qwen2")) {
            shape = shape.withArchitecture("Qwen2ForCausalLM");
        }
        ByteLevelBpeWriter.write(m, shape.vocabSize());
        Integer bos, eos;
        try (Tokenizer tok = Tokenizer.load(m)) {
            bos = tok.bosId();
            eos = tok.eosIds().stream().min(Integer::compare).orElse(null);
        }
        ModelMaker.write(m, shape, 3, DType.BF16, bos, eos);
        return m;
    }

    /** The engine's Scorer on the merged checkpoint held dense (not re-quantized), as a bf16 runtime would serve it. */
    private static double scoreDense(Path merged, List<int[]> ids, List<int[]> labels) throws IOException {
        LlamaConfig c = LlamaConfig.read(merged);
        try (SafetensorsFile f = SafetensorsFile.open(merged.resolve("model.safetensors"))) {
            LayerWeights[] layers = new LayerWeights[c.numLayers()];
            for (int l = 0; l < layers.length; l++) {
                String p = ModelLoader.layerPrefix(l);
                Linear[] lin = new Linear[7];
                for (Projection pr : Projection.values()) {
                    String key = ModelLoader.projectionKey(l, pr);
                    int[] shape = pr.shape(c);
                    float[] bias = f.contains(key + ".bias") ? f.readFloats(key + ".bias") : null;
                    lin[pr.ordinal()] = new Linear(DenseMatrix.ofFloats(f.readFloats(key + ".weight"), shape[0], shape[1]), bias);
                }
                layers[l] = new LayerWeights(f.readFloats(p + "input_layernorm.weight"), lin[0], lin[1], lin[2], lin[3],
                        f.readFloats(p + "post_attention_layernorm.weight"), lin[4], lin[5], lin[6]);
            }
            DenseMatrix emb = DenseMatrix.ofFloats(f.readFloats(ModelLoader.EMBED), c.vocabSize(), c.hiddenSize());
            DenseMatrix head = f.contains(ModelLoader.LM_HEAD)
                    ? DenseMatrix.ofFloats(f.readFloats(ModelLoader.LM_HEAD), c.vocabSize(), c.hiddenSize()) : emb;
            LlamaWeights w = new LlamaWeights(c, emb, layers, f.readFloats(ModelLoader.FINAL_NORM), head);
            return new Scorer(new LlamaModel(w, new CpuBackend(2)), 4).score(ids, labels).meanNll();
        }
    }
}
