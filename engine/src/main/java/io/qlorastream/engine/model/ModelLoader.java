package io.qlorastream.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.config.Projection;
import io.qlorastream.engine.quant.Nf4Tensor;
import io.qlorastream.engine.safetensors.SafetensorsCheckpoint;
import io.qlorastream.engine.safetensors.SafetensorsFile;
import io.qlorastream.engine.safetensors.TensorInfo;
import io.qlorastream.engine.tensor.DType;
import io.qlorastream.engine.tensor.DenseMatrix;
import io.qlorastream.engine.tensor.WeightMatrix;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Loads a Hugging Face Llama-family model directory ({@code config.json} + {@code model.safetensors} or shards).
 * The decoder blocks' q/k/v/o/gate/up/down weights become NF4 tensor by tensor (each read into one reused float
 * buffer, quantized, dropped), so the model never sits in memory at full precision; weights a bitsandbytes
 * checkpoint already holds in 4 bits are taken as they are. Embeddings and lm_head stay in the checkpoint dtype
 * over the memory-mapped file; norms and biases become float[].
 */
public final class ModelLoader {
    private ModelLoader() {
    }

    public static final String EMBED = "model.embed_tokens.weight";
    public static final String FINAL_NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";
    /** Suffix of the packed JSON quant state bitsandbytes stores next to a 4-bit weight. */
    public static final String QUANT_STATE_NF4 = ".quant_state.bitsandbytes__nf4";

    public static String layerPrefix(int layer) {
        return "model.layers." + layer + ".";
    }

    /** "model.layers.{i}.self_attn.q_proj" and so on, without ".weight". */
    public static String projectionKey(int layer, Projection projection) {
        return layerPrefix(layer) + projection.module() + "." + projection.peftName();
    }

    public static LlamaWeights load(Path modelDir, LoadOptions options) throws IOException {
        LlamaConfig config;
        try {
            config = LlamaConfig.read(modelDir);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        // The config parses every supported family; the layers below run the Llama layer only, so a family's extras
        // (q/k norms, Gemma norms, GELU, partial or long RoPE, NoPE, fused projections, softcap) are refused here
        // rather than silently ignored. Sliding windows are ignored as before: they change nothing below W tokens.
        if (!config.plainLlamaLayer()) {
            throw new IOException(modelDir.resolve("config.json") + ": the engine does not run " + config.architecture()
                    + " layers yet (it runs the Llama layer: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)");
        }
        checkQuantizationConfig(modelDir);
        SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(modelDir);
        try {
            int hidden = config.hiddenSize();
            WeightMatrix embedding = dense(ckpt, EMBED, config.vocabSize(), hidden);
            float[] scratch = null;
            LayerWeights[] layers = new LayerWeights[config.numLayers()];
            for (int i = 0; i < layers.length; i++) {
                String p = layerPrefix(i);
                Linear[] lin = new Linear[Projection.values().length];
                for (Projection proj : Projection.values()) {
                    int[] shape = proj.shape(config);
                    String key = projectionKey(i, proj);
                    WeightMatrix w;
                    if (ckpt.contains(key + ".weight" + QUANT_STATE_NF4)) {
                        w = readPrequantized(ckpt, key + ".weight", shape[0], shape[1]);
                    } else {
                        if (scratch == null) {
                            scratch = new float[maxLinearSize(config)];
                        }
                        w = quantize(ckpt, key + ".weight", shape[0], shape[1], options, scratch);
                    }
                    lin[proj.ordinal()] = new Linear(w, proj.hasBias(config) ? vector(ckpt, key + ".bias", shape[0]) : null);
                }
                layers[i] = new LayerWeights(vector(ckpt, p + "input_layernorm.weight", hidden), lin[0], lin[1], lin[2], lin[3],
                        vector(ckpt, p + "post_attention_layernorm.weight", hidden), lin[4], lin[5], lin[6]);
            }
            float[] finalNorm = vector(ckpt, FINAL_NORM, hidden);
            WeightMatrix lmHead = config.tieWordEmbeddings() ? embedding : dense(ckpt, LM_HEAD, config.vocabSize(), hidden);
            return new LlamaWeights(config, embedding, layers, finalNorm, lmHead, ckpt);
        } catch (IOException | RuntimeException e) {
            ckpt.close();
            throw e;
        }
    }

    private static int maxLinearSize(LlamaConfig c) {
        long max = 0;
        for (Projection p : Projection.values()) {
            int[] s = p.shape(c);
            max = Math.max(max, (long) s[0] * s[1]);
        }
        if (max > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("projection of " + max + " elements is too large");
        }
        return (int) max;
    }

    /** Refuses quantization schemes other than bitsandbytes 4-bit NF4 with a one-line error. */
    private static void checkQuantizationConfig(Path modelDir) throws IOException {
        JsonNode q = new ObjectMapper().readTree(modelDir.resolve("config.json").toFile()).get("quantization_config");
        if (q == null || q.isNull()) {
            return;
        }
        String method = q.path("quant_method").asText("bitsandbytes");
        if (!method.equals("bitsandbytes")) {
            throw new IOException(modelDir.resolve("config.json") + ": unsupported quantization_config.quant_method \"" + method
                    + "\" (supported: bitsandbytes 4-bit nf4)");
        }
        if (q.path("load_in_8bit").asBoolean(false) || q.path("_load_in_8bit").asBoolean(false)) {
            throw new IOException(modelDir.resolve("config.json") + ": 8-bit bitsandbytes checkpoints are not supported (only 4-bit nf4)");
        }
        String type = q.path("bnb_4bit_quant_type").asText("nf4");
        if (!type.equals("nf4")) {
            throw new IOException(modelDir.resolve("config.json") + ": unsupported bnb_4bit_quant_type \"" + type + "\" (supported: nf4)");
        }
    }

    private static TensorInfo checkShape(SafetensorsCheckpoint ckpt, String name, long... shape) throws IOException {
        TensorInfo t = ckpt.info(name);
        long[] actual = t.shape();
        boolean ok = actual.length == shape.length;
        for (int i = 0; ok && i < shape.length; i++) {
            ok = actual[i] == shape[i];
        }
        if (!ok) {
            throw new IOException("tensor " + name + " in " + ckpt.fileOf(name).path() + " has shape "
                    + java.util.Arrays.toString(actual) + ", expected " + java.util.Arrays.toString(shape));
        }
        return t;
    }

    private static TensorInfo checkFloat(SafetensorsCheckpoint ckpt, TensorInfo t) throws IOException {
        if (!t.dtype().isFloat()) {
            throw new IOException("tensor " + t.name() + " in " + ckpt.fileOf(t.name()).path() + " has unsupported dtype "
                    + t.dtype() + " (expected F32, F16 or BF16)");
        }
        return t;
    }

    /** A float tensor kept in its dtype over the mapped file, in row-aligned pieces below 1 GiB. */
    private static DenseMatrix dense(SafetensorsCheckpoint ckpt, String name, int rows, int cols) throws IOException {
        TensorInfo t = checkFloat(ckpt, checkShape(ckpt, name, rows, cols));
        SafetensorsFile f = ckpt.fileOf(name);
        long rowBytes = (long) cols * t.dtype().byteSize();
        int rowsPerChunk = (int) Math.max(1, Math.min(rows, (1L << 30) / Math.max(1, rowBytes)));
        int chunks = rows == 0 ? 1 : (rows + rowsPerChunk - 1) / rowsPerChunk;
        ByteBuffer[] buffers = new ByteBuffer[chunks];
        for (int c = 0; c < chunks; c++) {
            long first = (long) c * rowsPerChunk;
            long n = Math.min(rowsPerChunk, rows - first);
            buffers[c] = f.map(t, first * rowBytes, Math.max(0, n) * rowBytes);
        }
        return DenseMatrix.ofChunks(buffers, rowsPerChunk, t.dtype(), rows, cols);
    }

    private static float[] vector(SafetensorsCheckpoint ckpt, String name, int length) throws IOException {
        checkFloat(ckpt, checkShape(ckpt, name, length));
        return ckpt.fileOf(name).readFloats(name);
    }

    private static Nf4Tensor quantize(SafetensorsCheckpoint ckpt, String name, int rows, int cols, LoadOptions options,
                                      float[] scratch) throws IOException {
        TensorInfo t = checkFloat(ckpt, checkShape(ckpt, name, rows, cols));
        ckpt.fileOf(name).readFloats(t, 0, scratch, 0, rows * cols);
        return Nf4Tensor.quantize(scratch, rows, cols, options.blockSize(), options.doubleQuant());
    }

    /** A 4-bit weight as bitsandbytes serializes it (the tensors W, W.absmax, W.quant_map, W.nested_*, W.quant_state.*). */
    private static Nf4Tensor readPrequantized(SafetensorsCheckpoint ckpt, String w, int rows, int cols) throws IOException {
        String stateName = w + QUANT_STATE_NF4;
        SafetensorsFile stateFile = ckpt.fileOf(stateName);
        String where = "tensor " + stateName + " in " + stateFile.path();
        JsonNode state;
        try {
            state = new ObjectMapper().readTree(new String(stateFile.readBytes(stateName), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IOException(where + ": quant state is not valid JSON");
        }
        if (!state.path("quant_type").asText("").equals("nf4")) {
            throw new IOException(where + ": unsupported quant_type " + state.path("quant_type") + " (supported: nf4)");
        }
        JsonNode shape = state.path("shape");
        if (shape.size() != 2 || shape.get(0).asInt() != rows || shape.get(1).asInt() != cols) {
            throw new IOException(where + ": shape " + shape + ", expected [" + rows + ", " + cols + "]");
        }
        int blockSize = state.path("blocksize").asInt(64);
        long n = (long) rows * cols;
        byte[] packed = ckpt.fileOf(w).readBytes(w);
        if (packed.length != (n + 1) / 2) {
            throw new IOException("tensor " + w + " in " + ckpt.fileOf(w).path() + " has " + packed.length
                    + " bytes, expected " + (n + 1) / 2 + " packed NF4 bytes for [" + rows + ", " + cols + "]");
        }
        float[] quantMap = floats(ckpt, w + ".quant_map", 16);
        long blocks = (n + blockSize - 1) / blockSize;
        try {
            if (state.has("nested_blocksize") || ckpt.contains(w + ".nested_absmax")) {
                int nestedBlockSize = state.path("nested_blocksize").asInt(256);
                TensorInfo absmax = ckpt.info(w + ".absmax");
                if (absmax.dtype() != DType.U8 || absmax.numel() != blocks) {
                    throw new IOException("tensor " + absmax.name() + " in " + ckpt.fileOf(absmax.name()).path() + " is "
                            + absmax + ", expected U8 of " + blocks + " values");
                }
                return Nf4Tensor.ofDoubleQuant(rows, cols, blockSize, packed, ckpt.fileOf(absmax.name()).readBytes(absmax.name()),
                        quantMap, nestedBlockSize,
                        floats(ckpt, w + ".nested_absmax", (blocks + nestedBlockSize - 1) / nestedBlockSize),
                        floats(ckpt, w + ".nested_quant_map", 256), (float) state.path("nested_offset").asDouble());
            }
            return Nf4Tensor.of(rows, cols, blockSize, packed, floats(ckpt, w + ".absmax", blocks), quantMap);
        } catch (IllegalArgumentException e) {
            throw new IOException(where + ": " + e.getMessage(), e);
        }
    }

    /** A 1-D float32 tensor of {@code count} values. */
    private static float[] floats(SafetensorsCheckpoint ckpt, String name, long count) throws IOException {
        TensorInfo t = ckpt.info(name);
        if (t.dtype() != DType.F32 || t.numel() != count) {
            throw new IOException("tensor " + name + " in " + ckpt.fileOf(name).path() + " is " + t + ", expected F32 of " + count + " values");
        }
        ByteBuffer b = ByteBuffer.allocate((int) t.byteLength()).order(ByteOrder.LITTLE_ENDIAN);
        ckpt.fileOf(name).read(t, 0, b);
        float[] out = new float[(int) count];
        b.flip().asFloatBuffer().get(out);
        return out;
    }
}
