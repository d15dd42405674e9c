package io.qlorastream.engine.lora;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.config.Projection;
import io.qlorastream.engine.safetensors.SafetensorsFile;
import io.qlorastream.engine.safetensors.SafetensorsWriter;
import io.qlorastream.engine.safetensors.TensorInfo;
import io.qlorastream.engine.tensor.DType;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PEFT's on-disk LoRA adapter: {@code adapter_config.json} and {@code adapter_model.safetensors} (metadata
 * {@code {"format": "pt"}}), the pair that PEFT, vLLM and LoRAX load.
 */
public final class PeftAdapter {
    public static final String CONFIG_FILE = "adapter_config.json";
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Python's {@code json.dumps(indent=2, sort_keys=True)} layout, as PEFT's save_pretrained writes the config. */
    private static final ObjectWriter PYTHON_STYLE;

    static {
        DefaultIndenter indenter = new DefaultIndenter("  ", "\n");
        DefaultPrettyPrinter pp = new DefaultPrettyPrinter()
                .withSeparators(Separators.createDefaultInstance()
                        .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                        .withObjectEmptySeparator("")
                        .withArrayEmptySeparator(""));
        pp.indentObjectsWith(indenter);
        pp.indentArraysWith(indenter);
        PYTHON_STYLE = JSON.writer(pp);
    }

    /** Safetensors keys as PEFT saves them (adapter name stripped), optionally still carrying an adapter name. */
    private static final Pattern KEY = Pattern.compile(
            "(?:base_model\\.model\\.)?model\\.layers\\.(\\d+)\\.(self_attn|mlp)\\.(\\w+)\\.lora_([AB])(?:\\.([\\w-]+))?\\.weight");

    private PeftAdapter() {
    }

    /** {@code base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight} and so on. */
    public static String key(int layer, Projection projection, char aOrB) {
        return "base_model.model.model.layers." + layer + "." + projection.module() + "." + projection.peftName()
                + ".lora_" + aOrB + ".weight";
    }

    /** Writes the adapter in F32 (bit-exact). */
    public static void save(LoraAdapter adapter, Path dir, String baseModelNameOrPath) throws IOException {
        save(adapter, dir, baseModelNameOrPath, DType.F32);
    }

    /** Writes both files (weights converted to {@code dtype}: F32, F16 or BF16), each to a temp file then renamed. */
    public static void save(LoraAdapter adapter, Path dir, String baseModelNameOrPath, DType dtype) throws IOException {
        if (!dtype.isFloat()) {
            throw new IllegalArgumentException("adapter weights must be F32, F16 or BF16, not " + dtype);
        }
        Files.createDirectories(dir);
        writeWeights(adapter, dir.resolve(WEIGHTS_FILE), dtype);
        writeAtomically(dir.resolve(CONFIG_FILE), configJson(adapter.config, baseModelNameOrPath));
    }

    static void writeWeights(LoraAdapter adapter, Path file, DType dtype) throws IOException {
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        for (LoraModule m : adapter.modules()) {
            entries.add(new SafetensorsWriter.Entry(key(m.layer, m.projection, 'A'), dtype, new long[]{m.r, m.in}));
            entries.add(new SafetensorsWriter.Entry(key(m.layer, m.projection, 'B'), dtype, new long[]{m.out, m.r}));
        }
        SafetensorsWriter w = SafetensorsWriter.create(file, entries, Map.of("format", "pt"));
        try {
            for (LoraModule m : adapter.modules()) {
                w.writeFloats(key(m.layer, m.projection, 'A'), 0, m.params, m.aOffset, m.r * m.in);
                w.writeFloats(key(m.layer, m.projection, 'B'), 0, m.params, m.bOffset, m.out * m.r);
            }
        } catch (IOException | RuntimeException e) {
            w.abort();
            throw e;
        }
        w.close();
        fsync(file);
    }

    /** The config as PEFT writes it for a LoRA adapter of a causal LM (keys sorted, as PEFT sorts them). */
    public static byte[] configJson(LoraConfig c, String baseModelNameOrPath) throws IOException {
        Map<String, Object> m = new TreeMap<>();
        m.put("alpha_pattern", Map.of());
        m.put("auto_mapping", null);
        m.put("base_model_name_or_path", baseModelNameOrPath);
        m.put("bias", "none");
        m.put("fan_in_fan_out", false);
        m.put("inference_mode", true);
        m.put("init_lora_weights", true);
        m.put("layer_replication", null);
        m.put("layers_pattern", null);
        m.put("layers_to_transform", null);
        m.put("loftq_config", Map.of());
        m.put("lora_alpha", c.alpha() == Math.rint(c.alpha()) && Math.abs(c.alpha()) < 1e15 ? (Object) (long) c.alpha() : (Object) c.alpha());
        m.put("lora_dropout", c.dropout());
        m.put("megatron_config", null);
        m.put("megatron_core", "megatron.core");
        m.put("modules_to_save", null);
        m.put("peft_type", "LORA");
        m.put("r", c.r());
        m.put("rank_pattern", Map.of());
        m.put("revision", null);
        m.put("target_modules", c.targetModules());
        m.put("task_type", "CAUSAL_LM");
        m.put("use_dora", false);
        m.put("use_rslora", c.useRslora());
        return PYTHON_STYLE.writeValueAsBytes(m);
    }

    /** Reads {@code dir/adapter_config.json}; a setting this engine cannot honour is a one-line error naming it. */
    public static LoraConfig readConfig(Path dir) throws IOException {
        Path file = dir.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(file)) {
            throw new IOException("no " + CONFIG_FILE + " in " + dir);
        }
        JsonNode c;
        try {
            c = JSON.readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(file + ": not valid JSON: " + e.getOriginalMessage());
        }
        if (c == null || !c.isObject()) {
            throw new IOException(file + ": not a JSON object");
        }
        String peftType = text(c, "peft_type", "LORA");
        if (!peftType.equals("LORA")) {
            throw new IOException(file + ": peft_type " + peftType + " is not supported (only LORA)");
        }
        String bias = text(c, "bias", "none");
        if (!bias.equals("none")) {
            throw new IOException(file + ": bias \"" + bias + "\" is not supported (only \"none\")");
        }
        for (String flag : List.of("use_dora", "fan_in_fan_out")) {
            if (c.path(flag).asBoolean(false)) {
                throw new IOException(file + ": " + flag + " true is not supported");
            }
        }
        for (String unsupported : List.of("modules_to_save", "layers_to_transform", "layer_replication")) {
            JsonNode n = c.get(unsupported);
            if (n != null && !n.isNull() && !(n.isArray() && n.isEmpty())) {
                throw new IOException(file + ": " + unsupported + " " + n + " is not supported (must be null)");
            }
        }
        for (String pattern : List.of("rank_pattern", "alpha_pattern")) {
            JsonNode n = c.get(pattern);
            if (n != null && !n.isNull() && !(n.isObject() && n.isEmpty())) {
                throw new IOException(file + ": " + pattern + " " + n + " is not supported (must be empty)");
            }
        }
        JsonNode r = c.get("r");
        JsonNode alpha = c.get("lora_alpha");
        if (r == null || !r.canConvertToInt() || alpha == null || !alpha.isNumber()) {
            throw new IOException(file + ": needs integer r and number lora_alpha");
        }
        JsonNode targets = c.get("target_modules");
        List<String> names = new ArrayList<>();
        if (targets == null || targets.isNull()) {
            throw new IOException(file + ": target_modules is missing");
        } else if (targets.isTextual()) {
            String t = targets.asText();
            if (t.equals("all-linear")) {
                names.addAll(LoraConfig.ALL_TARGETS);
            } else {
                names.add(t);
            }
        } else if (targets.isArray()) {
            targets.forEach(t -> names.add(t.asText()));
        } else {
            throw new IOException(file + ": target_modules must be a list or \"all-linear\", got " + targets);
        }
        try {
            return new LoraConfig(r.asInt(), alpha.asDouble(), c.path("lora_dropout").asDouble(0),
                    names, c.path("use_rslora").asBoolean(false));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    private static String text(JsonNode c, String field, String dflt) {
        JsonNode n = c.get(field);
        return n == null || n.isNull() ? dflt : n.asText();
    }

    /**
     * Loads an adapter directory written by PEFT or by {@link #save}: weights in F32, F16 or BF16, keys with or
     * without the adapter name ({@code lora_A.weight} or {@code lora_A.default.weight}). Each tensor's shape is
     * checked against {@code model}; a missing, unexpected or misshapen tensor is a one-line error naming its key.
     */
    public static LoraAdapter load(Path dir, LlamaConfig model) throws IOException {
        LoraConfig config = readConfig(dir);
        LoraAdapter adapter = LoraAdapter.zeros(config, model);
        Path file = dir.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(file)) {
            throw new IOException("no " + WEIGHTS_FILE + " in " + dir);
        }
        Map<String, String> seen = new HashMap<>();
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            for (String name : st.names()) {
                TensorInfo t = st.info(name);
                Matcher mt = KEY.matcher(t.name());
                if (!mt.matches()) {
                    throw new IOException(file + ": unexpected tensor " + t.name() + " (only lora_A/lora_B of decoder projections are supported)");
                }
                int layer = Integer.parseInt(mt.group(1));
                Projection proj = Projection.byName(mt.group(3));
                char which = mt.group(4).charAt(0);
                if (proj == null || !proj.module().equals(mt.group(2))) {
                    throw new IOException(file + ": tensor " + t.name() + " names unknown projection " + mt.group(2) + "." + mt.group(3));
                }
                if (layer >= model.numLayers()) {
                    throw new IOException(file + ": tensor " + t.name() + " is for layer " + layer + " but the model has "
                            + model.numLayers() + " layers");
                }
                LoraModule m = adapter.module(layer, proj);
                if (m == null) {
                    throw new IOException(file + ": tensor " + t.name() + " is for " + proj + ", which target_modules "
                            + config.targetModules() + " does not list");
                }
                String canonical = key(layer, proj, which);
                String previous = seen.put(canonical, t.name());
                if (previous != null) {
                    throw new IOException(file + ": tensors " + previous + " and " + t.name() + " are the same weight");
                }
                long[] expected = which == 'A' ? new long[]{m.r, m.in} : new long[]{m.out, m.r};
                if (!Arrays.equals(t.shape(), expected)) {
                    throw new IOException(file + ": tensor " + t.name() + " has shape " + Arrays.toString(t.shape())
                            + ", expected " + Arrays.toString(expected) + " (r " + m.r + ", " + proj + " [" + m.out + ", " + m.in + "])");
                }
                if (!t.dtype().isFloat()) {
                    throw new IOException(file + ": tensor " + t.name() + " has dtype " + t.dtype() + ", expected F32, F16 or BF16");
                }
                st.readFloats(t, 0, adapter.params, which == 'A' ? m.aOffset : m.bOffset, (int) t.numel());
            }
        }
        for (LoraModule m : adapter.modules()) {
            for (char which : new char[]{'A', 'B'}) {
                String k = key(m.layer, m.projection, which);
                if (!seen.containsKey(k)) {
                    throw new IOException(file + ": missing tensor " + k);
                }
            }
        }
        return adapter;
    }

    /** Writes {@code bytes} to a temp file beside {@code target}, fsyncs it and renames it over {@code target}. */
    public static void writeAtomically(Path target, byte[] bytes) throws IOException {
        Path temp = target.resolveSibling(target.getFileName() + ".partial");
        try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Flushes a written file to the disk. */
    public static void fsync(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    /** Flushes a directory entry table (renames inside it) to the disk. */
    public static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // some file systems refuse fsync on a directory; the renames are still ordered after the file fsyncs
        }
    }
}
