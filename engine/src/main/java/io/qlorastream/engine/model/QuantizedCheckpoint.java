package io.qlorastream.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.config.Projection;
import io.qlorastream.engine.quant.Nf4Tensor;
import io.qlorastream.engine.safetensors.SafetensorsCheckpoint;
import io.qlorastream.engine.safetensors.SafetensorsWriter.Entry;
import io.qlorastream.engine.safetensors.SafetensorsWriter;
import io.qlorastream.engine.tensor.DType;
import io.qlorastream.engine.tensor.DenseMatrix;
import io.qlorastream.engine.tensor.WeightMatrix;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Pre-quantized checkpoints in bitsandbytes' own serialization (what transformers saves for a model loaded with
 * {@code BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4")}): for each 4-bit weight W, the
 * tensors W (packed U8, [(n+1)/2, 1]), W.absmax (U8 with double quant, else F32), W.quant_map (16 F32),
 * W.nested_absmax, W.nested_quant_map (256 F32) and W.quant_state.bitsandbytes__nf4 (U8 bytes of the JSON
 * {@code json.dumps} writes); embeddings, norms, biases and lm_head unquantized; {@code quantization_config} in
 * config.json.
 */
public final class QuantizedCheckpoint {
    private QuantizedCheckpoint() {
    }

    /** Files copied unchanged next to the quantized weights. */
    public static final List<String> COPIED_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "generation_config.json", "special_tokens_map.json", "tokenizer.model", "chat_template.jinja");

    /** What {@link #quantize} wrote. */
    public record Summary(int quantizedTensors, long quantizedParameters, long quantizedBytes, long fileBytes) {
        /** Stored bits per quantized parameter (packed codes + absmax + nested statistics). */
        public double bitsPerParameter() {
            return quantizedParameters == 0 ? 0 : quantizedBytes * 8.0 / quantizedParameters;
        }
    }

    /**
     * Loads {@code modelDir} (quantizing while loading) and writes it to {@code outDir} as a bitsandbytes 4-bit
     * checkpoint, with config.json and the tokenizer files.
     */
    public static Summary quantize(Path modelDir, Path outDir, LoadOptions options) throws IOException {
        if (!Files.isRegularFile(modelDir.resolve("config.json"))) {
            throw new IOException("no config.json in " + modelDir);
        }
        if (Files.exists(outDir) && Files.isSameFile(modelDir, outDir)) {
            throw new IOException("--out " + outDir + " is the model directory itself");
        }
        ObjectNode config = (ObjectNode) new ObjectMapper().readTree(modelDir.resolve("config.json").toFile());
        int tensors = 0;
        long params = 0;
        long bytes = 0;
        try (LlamaWeights weights = ModelLoader.load(modelDir, options)) {
            write(weights, config, outDir);
            for (LayerWeights l : weights.layers) {
                for (Projection p : Projection.values()) {
                    WeightMatrix w = l.projection(p).weight;
                    tensors++;
                    params += (long) w.rows() * w.cols();
                    bytes += w.residentBytes();
                }
            }
        }
        for (String f : COPIED_FILES) {
            Path src = modelDir.resolve(f);
            if (Files.isRegularFile(src)) {
                Files.copy(src, outDir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return new Summary(tensors, params, bytes, Files.size(outDir.resolve(SafetensorsCheckpoint.SINGLE_FILE)));
    }

    /**
     * Writes {@code outDir/model.safetensors} and {@code outDir/config.json} ({@code sourceConfig} plus
     * {@code quantization_config}). Every projection must be an {@link Nf4Tensor}, the other weights
     * {@link DenseMatrix} or float[], written back in their dtype.
     */
    public static void write(LlamaWeights weights, ObjectNode sourceConfig, Path outDir) throws IOException {
        Files.createDirectories(outDir);
        LlamaConfig c = weights.config;
        DType compute = DType.fromTorchName(c.torchDtype());
        if (compute == null) {
            compute = DType.F32;
        }
        DType vectorDtype = weights.tokenEmbedding instanceof DenseMatrix d ? d.dtype() : compute;
        boolean doubleQuant = false;

        List<Entry> entries = new ArrayList<>();
        Map<String, byte[]> states = new LinkedHashMap<>();
        entries.add(denseEntry(ModelLoader.EMBED, weights.tokenEmbedding));
        for (int i = 0; i < weights.layers.length; i++) {
            LayerWeights l = weights.layers[i];
            String p = ModelLoader.layerPrefix(i);
            entries.add(new Entry(p + "input_layernorm.weight", vectorDtype, new long[]{l.inputNorm.length}));
            entries.add(new Entry(p + "post_attention_layernorm.weight", vectorDtype, new long[]{l.postAttentionNorm.length}));
            for (Projection proj : Projection.values()) {
                String w = ModelLoader.projectionKey(i, proj) + ".weight";
                Linear lin = l.projection(proj);
                Nf4Tensor t = nf4(w, lin.weight);
                doubleQuant |= t.doubleQuant();
                entries.add(new Entry(w, DType.U8, new long[]{t.packed().length, 1}));
                if (t.doubleQuant()) {
                    entries.add(new Entry(w + ".absmax", DType.U8, new long[]{t.quantizedAbsmax().length}));
                    entries.add(new Entry(w + ".nested_absmax", DType.F32, new long[]{t.nestedAbsmax().length}));
                    entries.add(new Entry(w + ".nested_quant_map", DType.F32, new long[]{t.nestedQuantMap().length}));
                } else {
                    entries.add(new Entry(w + ".absmax", DType.F32, new long[]{t.absmax().length}));
                }
                entries.add(new Entry(w + ".quant_map", DType.F32, new long[]{16}));
                byte[] state = quantStateJson(t, compute).getBytes(StandardCharsets.UTF_8);
                states.put(w + ModelLoader.QUANT_STATE_NF4, state);
                entries.add(new Entry(w + ModelLoader.QUANT_STATE_NF4, DType.U8, new long[]{state.length}));
                if (lin.bias != null) {
                    entries.add(new Entry(ModelLoader.projectionKey(i, proj) + ".bias", vectorDtype, new long[]{lin.bias.length}));
                }
            }
        }
        entries.add(new Entry(ModelLoader.FINAL_NORM, vectorDtype, new long[]{weights.finalNorm.length}));
        if (!weights.tied()) {
            entries.add(denseEntry(ModelLoader.LM_HEAD, weights.lmHead));
        }

        SafetensorsWriter out = SafetensorsWriter.create(outDir.resolve(SafetensorsCheckpoint.SINGLE_FILE), entries, Map.of("format", "pt"));
        try {
            writeDense(out, ModelLoader.EMBED, weights.tokenEmbedding);
            for (int i = 0; i < weights.layers.length; i++) {
                LayerWeights l = weights.layers[i];
                String p = ModelLoader.layerPrefix(i);
                out.writeFloats(p + "input_layernorm.weight", l.inputNorm);
                out.writeFloats(p + "post_attention_layernorm.weight", l.postAttentionNorm);
                for (Projection proj : Projection.values()) {
                    String w = ModelLoader.projectionKey(i, proj) + ".weight";
                    Linear lin = l.projection(proj);
                    Nf4Tensor t = (Nf4Tensor) lin.weight;
                    out.writeBytes(w, t.packed());
                    if (t.doubleQuant()) {
                        out.writeBytes(w + ".absmax", t.quantizedAbsmax());
                        out.write(w + ".nested_absmax", 0, floatBytes(t.nestedAbsmax()));
                        out.write(w + ".nested_quant_map", 0, floatBytes(t.nestedQuantMap()));
                    } else {
                        out.write(w + ".absmax", 0, floatBytes(t.absmax()));
                    }
                    out.write(w + ".quant_map", 0, floatBytes(t.quantMap()));
                    out.writeBytes(w + ModelLoader.QUANT_STATE_NF4, states.get(w + ModelLoader.QUANT_STATE_NF4));
                    if (lin.bias != null) {
                        out.writeFloats(ModelLoader.projectionKey(i, proj) + ".bias", lin.bias);
                    }
                }
            }
            out.writeFloats(ModelLoader.FINAL_NORM, weights.finalNorm);
            if (!weights.tied()) {
                writeDense(out, ModelLoader.LM_HEAD, weights.lmHead);
            }
        } catch (IOException | RuntimeException e) {
            out.abort();
            throw e;
        }
        out.close();

        ObjectNode config = sourceConfig.deepCopy();
        ObjectNode q = config.putObject("quantization_config");
        q.put("_load_in_4bit", true);
        q.put("_load_in_8bit", false);
        q.put("bnb_4bit_compute_dtype", compute.torchName());
        q.put("bnb_4bit_quant_storage", "uint8");
        q.put("bnb_4bit_quant_type", "nf4");
        q.put("bnb_4bit_use_double_quant", doubleQuant);
        q.put("llm_int8_enable_fp32_cpu_offload", false);
        q.put("llm_int8_has_fp16_weight", false);
        ArrayNode skip = q.putArray("llm_int8_skip_modules");
        skip.add("lm_head");
        q.put("llm_int8_threshold", 6.0);
        q.put("load_in_4bit", true);
        q.put("load_in_8bit", false);
        q.put("quant_method", "bitsandbytes");
        Files.writeString(outDir.resolve("config.json"),
                new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(config) + "\n", StandardCharsets.UTF_8);
    }

    /**
     * The quant state as bitsandbytes packs it: {@code json.dumps} (", " and ": " separators) of quant_type,
     * blocksize, dtype, shape and, with double quant, nested_blocksize, nested_dtype, nested_offset (a Python float).
     */
    public static String quantStateJson(Nf4Tensor t, DType compute) {
        StringBuilder s = new StringBuilder();
        s.append("{\"quant_type\": \"nf4\", \"blocksize\": ").append(t.blockSize())
                .append(", \"dtype\": \"").append(compute.torchName())
                .append("\", \"shape\": [").append(t.rows()).append(", ").append(t.cols()).append(']');
        if (t.doubleQuant()) {
            s.append(", \"nested_blocksize\": ").append(t.nestedBlockSize())
                    .append(", \"nested_dtype\": \"float32\", \"nested_offset\": ").append(pythonFloatRepr(t.nestedOffset()));
        }
        return s.append('}').toString();
    }

    /**
     * Python's {@code repr} of a float32 value widened to double (as {@code tensor.item()} gives): the shortest
     * digits that round-trip, fixed notation for exponents in [-4, 16), else {@code d.ddde-XX}.
     */
    public static String pythonFloatRepr(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "Infinity" : "-Infinity";
        }
        if (v == 0) {
            return (1 / v < 0) ? "-0.0" : "0.0";
        }
        BigDecimal d = new BigDecimal(Double.toString(v)).stripTrailingZeros();
        String digits = d.unscaledValue().abs().toString();
        int exp = digits.length() - 1 - d.scale(); // decimal exponent of the first digit
        String sign = v < 0 ? "-" : "";
        if (exp >= -4 && exp < 16) {
            String plain = d.abs().toPlainString();
            return sign + (plain.contains(".") ? plain : plain + ".0");
        }
        String mant = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return sign + mant + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    }

    private static Nf4Tensor nf4(String name, WeightMatrix w) {
        if (!(w instanceof Nf4Tensor t)) {
            throw new IllegalArgumentException("weight " + name + " is not NF4-quantized (" + w.getClass().getSimpleName() + ")");
        }
        return t;
    }

    private static Entry denseEntry(String name, WeightMatrix m) {
        DType dtype = m instanceof DenseMatrix d ? d.dtype() : DType.F32;
        return new Entry(name, dtype, new long[]{m.rows(), m.cols()});
    }

    private static void writeDense(SafetensorsWriter out, String name, WeightMatrix m) throws IOException {
        int rowsPerPiece = Math.max(1, (1 << 26) / Math.max(1, m.cols() * 4));
        if (m instanceof DenseMatrix d) {
            long offset = 0;
            for (int r = 0; r < d.rows(); r += rowsPerPiece) {
                ByteBuffer raw = d.rawRows(r, Math.min(rowsPerPiece, d.rows() - r));
                int n = raw.remaining();
                out.write(name, offset, raw);
                offset += n;
            }
            return;
        }
        float[] buf = new float[rowsPerPiece * m.cols()];
        for (int r = 0; r < m.rows(); r += rowsPerPiece) {
            int n = Math.min(rowsPerPiece, m.rows() - r);
            m.dequantizeRows(r, n, buf, 0);
            out.writeFloats(name, (long) r * m.cols(), buf, 0, n * m.cols());
        }
    }

    private static ByteBuffer floatBytes(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return b;
    }

    /** The value of {@code quantization_config} in a config.json, or null. */
    public static JsonNode quantizationConfig(Path modelDir) throws IOException {
        JsonNode q = new ObjectMapper().readTree(modelDir.resolve("config.json").toFile()).get("quantization_config");
        return q == null || q.isNull() ? null : q;
    }
}
