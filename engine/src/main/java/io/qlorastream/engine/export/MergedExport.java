package io.qlorastream.engine.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.engine.model.LoadOptions;
import io.qlorastream.engine.quant.Nf4Tensor;
import io.qlorastream.engine.safetensors.SafetensorsCheckpoint;
import io.qlorastream.engine.safetensors.SafetensorsFile;
import io.qlorastream.engine.safetensors.SafetensorsWriter;
import io.qlorastream.engine.safetensors.TensorInfo;
import io.qlorastream.engine.tensor.DType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Hugging Face model directory with a PEFT LoRA adapter merged into its weights: {@code W' = W + (alpha/r)·B·A} for
 * every adapted module, every other tensor converted to the output dtype. Works on tensor names alone (the PEFT key
 * {@code base_model.model.X.lora_A.weight} adapts the base tensor {@code X.weight}), so it serves every model family.
 */
public final class MergedExport {

    /** What the LoRA delta is added to. */
    public enum Onto {
        /** The NF4-quantized-then-dequantized weights: what the adapter was trained against (the engine's quantization). */
        DEQUANTIZED,
        /** The full-precision weights: adds the quantization error back in, which the adapter never saw. */
        ORIGINAL
    }

    /** Files copied as they are beside the weights (tokenizer and generation settings of every family). */
    public static final List<String> COPIED_FILES = List.of("generation_config.json", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model", "vocab.json", "merges.txt",
            "added_tokens.json", "chat_template.jinja", "chat_template.json");

    private static final Pattern LORA_KEY = Pattern.compile("(?:base_model\\.model\\.)?(.+)\\.lora_([AB])(?:\\.[\\w-]+)?\\.weight");
    private static final String QUANT_STATE_SUFFIX = ".quant_state.bitsandbytes__nf4";

    private MergedExport() {
    }

    /** One adapted module: its base tensor's name and the two factors' names in the adapter file. */
    record LoraPair(String baseName, String aName, String bName) {
    }

    /**
     * Writes {@code out/model.safetensors}, {@code config.json} (torch_dtype set, quantization_config removed) and the
     * tokenizer and generation files. {@code progress} gets one line per tensor.
     */
    public static void export(Path modelDir, Path adapterDir, Path outDir, DType dtype, Onto onto, LoadOptions quant,
                              Consumer<String> progress) throws IOException {
        if (dtype != DType.BF16 && dtype != DType.F16) {
            throw new IllegalArgumentException("merged dtype must be bf16 or f16, got " + dtype);
        }
        LoraConfig lora = PeftAdapter.readConfig(adapterDir);
        float scale = (float) lora.scaling();
        Path adapterFile = adapterDir.resolve(PeftAdapter.WEIGHTS_FILE);
        if (!Files.isRegularFile(adapterFile)) {
            throw new IOException("no " + PeftAdapter.WEIGHTS_FILE + " in " + adapterDir);
        }
        Files.createDirectories(outDir);
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(modelDir);
             SafetensorsFile adapter = SafetensorsFile.open(adapterFile)) {
            Map<String, LoraPair> pairs = pairs(adapter);
            for (LoraPair p : pairs.values()) {
                if (!ckpt.contains(p.baseName())) {
                    throw new IOException(adapterFile + ": " + p.aName() + " adapts " + p.baseName()
                            + ", which " + modelDir + " does not have");
                }
            }
            List<String> names = new ArrayList<>(new TreeSet<>(ckpt.names()));
            for (String name : names) {
                if (name.endsWith(QUANT_STATE_SUFFIX)) {
                    throw new IOException(modelDir + " is a 4-bit checkpoint (" + name
                            + "); export merged needs the full-precision model it was quantized from");
                }
            }
            List<SafetensorsWriter.Entry> entries = new ArrayList<>();
            for (String name : names) {
                TensorInfo t = ckpt.info(name);
                entries.add(new SafetensorsWriter.Entry(name, t.dtype().isFloat() ? dtype : t.dtype(), t.shape()));
            }
            Path target = outDir.resolve(SafetensorsCheckpoint.SINGLE_FILE);
            try (SafetensorsWriter w = SafetensorsWriter.create(target, entries, Map.of("format", "pt"))) {
                int done = 0;
                for (String name : names) {
                    TensorInfo t = ckpt.info(name);
                    SafetensorsFile file = ckpt.fileOf(name);
                    LoraPair pair = pairs.get(name);
                    done++;
                    if (!t.dtype().isFloat()) {
                        w.writeBytes(name, file.readBytes(name));
                    } else if (pair == null) {
                        w.writeFloats(name, file.readFloats(name));
                    } else {
                        w.writeFloats(name, merged(t, file, adapter, pair, scale, onto, quant));
                        progress.accept(String.format("[%d/%d] %s: merged (%s)", done, names.size(), name,
                                onto.name().toLowerCase()));
                        continue;
                    }
                    progress.accept(String.format("[%d/%d] %s", done, names.size(), name));
                }
            }
        }
        writeConfig(modelDir, outDir, dtype);
        for (String f : COPIED_FILES) {
            Path src = modelDir.resolve(f);
            if (Files.isRegularFile(src)) {
                Files.copy(src, outDir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /** The adapted modules of a PEFT adapter file, by base tensor name; an A without its B is an error naming it. */
    static Map<String, LoraPair> pairs(SafetensorsFile adapter) {
        Map<String, String[]> byModule = new LinkedHashMap<>();
        for (String key : adapter.names()) {
            Matcher m = LORA_KEY.matcher(key);
            if (!m.matches()) {
                throw new IllegalArgumentException(adapter.path() + ": tensor " + key + " is not a LoRA factor");
            }
            String[] ab = byModule.computeIfAbsent(m.group(1), k -> new String[2]);
            ab[m.group(2).equals("A") ? 0 : 1] = key;
        }
        Map<String, LoraPair> pairs = new LinkedHashMap<>();
        byModule.forEach((module, ab) -> {
            if (ab[0] == null || ab[1] == null) {
                throw new IllegalArgumentException(adapter.path() + ": " + module + " has lora_"
                        + (ab[0] == null ? "B without lora_A" : "A without lora_B"));
            }
            pairs.put(module + ".weight", new LoraPair(module + ".weight", ab[0], ab[1]));
        });
        return pairs;
    }

    /** W (dequantized NF4 or original) + scale·B·A, row-major [out, in]. */
    static float[] merged(TensorInfo t, SafetensorsFile file, SafetensorsFile adapter, LoraPair pair, float scale,
                          Onto onto, LoadOptions quant) throws IOException {
        if (t.rank() != 2) {
            throw new IOException("tensor " + t.name() + " is " + t + ": a LoRA target must be a matrix");
        }
        int rows = (int) t.dim(0);
        int cols = (int) t.dim(1);
        TensorInfo a = adapter.info(pair.aName());
        TensorInfo b = adapter.info(pair.bName());
        int r = (int) a.dim(0);
        if (a.rank() != 2 || b.rank() != 2 || a.dim(1) != cols || b.dim(0) != rows || b.dim(1) != r) {
            throw new IOException(adapter.path() + ": " + pair.aName() + " " + a + " and " + pair.bName() + " " + b
                    + " do not fit " + t.name() + " [" + rows + ", " + cols + "]");
        }
        float[] w = file.readFloats(t.name());
        if (onto == Onto.DEQUANTIZED) {
            Nf4Tensor.quantize(w, rows, cols, quant.blockSize(), quant.doubleQuant()).dequantizeRows(0, rows, w, 0);
        }
        float[] fa = adapter.readFloats(pair.aName());
        float[] fb = adapter.readFloats(pair.bName());
        // W[i][j] += scale * sum_k B[i][k] A[k][j]: rank r is small, so row by row with no BLAS is fast enough
        for (int i = 0; i < rows; i++) {
            int row = i * cols;
            for (int k = 0; k < r; k++) {
                float bik = scale * fb[i * r + k];
                int ak = k * cols;
                for (int j = 0; j < cols; j++) {
                    w[row + j] += bik * fa[ak + j];
                }
            }
        }
        return w;
    }

    private static void writeConfig(Path modelDir, Path outDir, DType dtype) throws IOException {
        Path src = modelDir.resolve("config.json");
        ObjectMapper json = new ObjectMapper();
        JsonNode config = json.readTree(src.toFile());
        if (!(config instanceof ObjectNode o)) {
            throw new IOException(src + ": not a JSON object");
        }
        o.put("torch_dtype", dtype == DType.BF16 ? "bfloat16" : "float16");
        o.remove("quantization_config");
        json.writerWithDefaultPrettyPrinter().writeValue(outDir.resolve("config.json").toFile(), o);
    }
}
