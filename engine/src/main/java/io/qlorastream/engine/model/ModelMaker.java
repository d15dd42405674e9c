package io.qlorastream.engine.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.qlorastream.engine.config.Projection;
import io.qlorastream.engine.safetensors.SafetensorsCheckpoint;
import io.qlorastream.engine.safetensors.SafetensorsWriter;
import io.qlorastream.engine.tensor.DType;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Random-initialised test models in real Hugging Face format: {@code config.json}, {@code model.safetensors},
 * {@code generation_config.json} (the tokenizer files are written by the tokenizer module). Weights are
 * N(0, 0.02) as transformers' {@code initializer_range}, norm weights 1 + N(0, 0.02) rather than exactly 1 so that
 * tests notice a swapped norm. Each tensor has its own generator seeded from (seed, name), so the result is
 * deterministic for a seed; tensors are generated and written in pieces, so even a 1B model never sits in memory.
 */
public final class ModelMaker {
    private ModelMaker() {
    }

    private static final int CHUNK = 1 << 20;

    /** Writes the model with Llama's usual special ids (bos 1, eos 2). */
    public static void write(Path outDir, ModelShape shape, long seed, DType dtype) throws IOException {
        write(outDir, shape, seed, dtype, 1, 2);
    }

    /** Writes the model; {@code bosId}/{@code eosId} go into config.json and generation_config.json (null: omitted). */
    public static void write(Path outDir, ModelShape shape, long seed, DType dtype, Integer bosId, Integer eosId) throws IOException {
        if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16) {
            throw new IllegalArgumentException("model dtype must be F32, F16 or BF16, not " + dtype);
        }
        Files.createDirectories(outDir);
        List<SafetensorsWriter.Entry> entries = tensors(shape, dtype);
        SafetensorsWriter writer = SafetensorsWriter.create(outDir.resolve(SafetensorsCheckpoint.SINGLE_FILE), entries,
                Map.of("format", "pt"));
        try {
            float[] buf = new float[CHUNK];
            for (SafetensorsWriter.Entry e : entries) {
                SplittableRandom random = new SplittableRandom(mix(seed, e.name()));
                boolean norm = e.name().endsWith("norm.weight");
                long n = e.numel();
                for (long done = 0; done < n; ) {
                    int len = (int) Math.min(CHUNK, n - done);
                    for (int i = 0; i < len; i++) {
                        float g = (float) (0.02 * random.nextGaussian());
                        buf[i] = norm ? 1.0f + g : g;
                    }
                    writer.writeFloats(e.name(), done, buf, 0, len);
                    done += len;
                }
            }
        } catch (IOException | RuntimeException ex) {
            writer.abort();
            throw ex;
        }
        writer.close();
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        Files.writeString(outDir.resolve("config.json"), json.writeValueAsString(config(shape, dtype, bosId, eosId)) + "\n",
                StandardCharsets.UTF_8);
        Map<String, Object> gen = new LinkedHashMap<>();
        gen.put("_from_model_config", true);
        if (bosId != null) {
            gen.put("bos_token_id", bosId);
        }
        if (eosId != null) {
            gen.put("eos_token_id", eosId);
        }
        gen.put("transformers_version", "4.46.0");
        Files.writeString(outDir.resolve("generation_config.json"), json.writeValueAsString(gen) + "\n", StandardCharsets.UTF_8);
    }

    /** The tensors of a checkpoint of this shape, as transformers names them. */
    public static List<SafetensorsWriter.Entry> tensors(ModelShape s, DType dtype) {
        List<SafetensorsWriter.Entry> t = new ArrayList<>();
        long h = s.hidden();
        long q = (long) s.heads() * s.headDim();
        long kv = (long) s.kvHeads() * s.headDim();
        t.add(new SafetensorsWriter.Entry(ModelLoader.EMBED, dtype, new long[]{s.vocabSize(), h}));
        boolean qkvBias = s.qwen2() || s.attentionBias();
        boolean oBias = !s.qwen2() && s.attentionBias();
        for (int i = 0; i < s.layers(); i++) {
            String p = ModelLoader.layerPrefix(i);
            t.add(new SafetensorsWriter.Entry(p + "input_layernorm.weight", dtype, new long[]{h}));
            t.add(new SafetensorsWriter.Entry(p + "post_attention_layernorm.weight", dtype, new long[]{h}));
            long[][] shapes = {{q, h}, {kv, h}, {kv, h}, {h, q}, {s.intermediate(), h}, {s.intermediate(), h}, {h, s.intermediate()}};
            for (Projection proj : Projection.values()) {
                String key = ModelLoader.projectionKey(i, proj);
                t.add(new SafetensorsWriter.Entry(key + ".weight", dtype, shapes[proj.ordinal()]));
                boolean bias = switch (proj) {
                    case Q, K, V -> qkvBias;
                    case O -> oBias;
                    case GATE, UP, DOWN -> s.mlpBias();
                };
                if (bias) {
                    t.add(new SafetensorsWriter.Entry(key + ".bias", dtype, new long[]{shapes[proj.ordinal()][0]}));
                }
            }
        }
        t.add(new SafetensorsWriter.Entry(ModelLoader.FINAL_NORM, dtype, new long[]{h}));
        if (!s.tieWordEmbeddings()) {
            t.add(new SafetensorsWriter.Entry(ModelLoader.LM_HEAD, dtype, new long[]{s.vocabSize(), h}));
        }
        return t;
    }

    /** config.json as transformers writes it for this shape. */
    public static Map<String, Object> config(ModelShape s, DType dtype, Integer bosId, Integer eosId) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("architectures", List.of(s.architecture()));
        if (s.qwen2()) {
            c.put("model_type", "qwen2");
        } else {
            c.put("model_type", "llama");
            c.put("attention_bias", s.attentionBias());
        }
        c.put("attention_dropout", 0.0);
        if (bosId != null) {
            c.put("bos_token_id", bosId);
        }
        if (eosId != null) {
            c.put("eos_token_id", eosId);
        }
        c.put("head_dim", s.headDim());
        c.put("hidden_act", "silu");
        c.put("hidden_size", s.hidden());
        c.put("initializer_range", 0.02);
        c.put("intermediate_size", s.intermediate());
        c.put("max_position_embeddings", 2048);
        c.put("mlp_bias", s.mlpBias());
        c.put("num_attention_heads", s.heads());
        c.put("num_hidden_layers", s.layers());
        c.put("num_key_value_heads", s.kvHeads());
        c.put("rms_norm_eps", 1e-5);
        c.put("rope_scaling", null);
        c.put("rope_theta", 10000.0);
        c.put("tie_word_embeddings", s.tieWordEmbeddings());
        c.put("torch_dtype", dtype.torchName());
        c.put("transformers_version", "4.46.0");
        c.put("use_cache", true);
        c.put("vocab_size", s.vocabSize());
        return c;
    }

    /** A per-tensor seed: the tensor name's 64-bit FNV-1a hash mixed with the model seed. */
    private static long mix(long seed, String name) {
        long h = 0xcbf29ce484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return h ^ (seed * 0x9e3779b97f4a7c15L);
    }
}
