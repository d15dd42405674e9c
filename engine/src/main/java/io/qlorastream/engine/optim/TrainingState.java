package io.qlorastream.engine.optim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.engine.safetensors.SafetensorsFile;
import io.qlorastream.engine.safetensors.SafetensorsWriter;
import io.qlorastream.engine.tensor.DType;
import org.apache.commons.io.file.PathUtils;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Everything a resumed run needs to continue bit-identically: the adapter (a loadable PEFT adapter, F32), the
 * AdamW moments and step, the optimizer steps done, named RNG states (e.g. the data-order Rng), the dropout
 * counter, and free-form string entries for the caller (data cursor, etc.).
 *
 * <p>A directory holds {@code adapter_config.json}, {@code adapter_model.safetensors}, {@code optimizer.safetensors}
 * and {@code training_state.json}. {@link #save} writes all files into a sibling temp directory, fsyncs them and
 * swaps it in by renames, so a crash leaves either the old state or the new one (the old one as
 * {@code DIR.old} during the swap, which {@link #load} falls back to).
 */
public final class TrainingState {
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    public static final String STATE_FILE = "training_state.json";
    static final int FORMAT_VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    public final LoraAdapter adapter;
    public final AdamW optimizer;
    /** Optimizer steps completed. */
    public final long step;
    /** Counter of the LoRA dropout ({@code LoraDropout.counter()}). */
    public final long dropoutCounter;
    /** Named generator states ({@code Rng.state()}), restored with {@code Rng.fromState}. */
    public final Map<String, long[]> rngStates;
    /** Caller's own entries (data position, epoch...). */
    public final Map<String, String> extra;

    public TrainingState(LoraAdapter adapter, AdamW optimizer, long step, long dropoutCounter,
                         Map<String, long[]> rngStates, Map<String, String> extra) {
        if (optimizer.size() != adapter.parameterCount()) {
            throw new IllegalArgumentException("optimizer holds " + optimizer.size() + " moments for an adapter of "
                    + adapter.parameterCount() + " parameters");
        }
        this.adapter = adapter;
        this.optimizer = optimizer;
        this.step = step;
        this.dropoutCounter = dropoutCounter;
        Map<String, long[]> rng = new TreeMap<>();
        rngStates.forEach((k, v) -> rng.put(k, v.clone()));
        this.rngStates = rng;
        this.extra = new TreeMap<>(extra);
    }

    /** Writes the state to {@code dir} atomically (see the class comment). */
    public void save(Path dir, String baseModelNameOrPath) throws IOException {
        Path target = dir.toAbsolutePath();
        Path parent = target.getParent();
        Files.createDirectories(parent);
        Path temp = parent.resolve(target.getFileName() + ".tmp");
        Path old = parent.resolve(target.getFileName() + ".old");
        PathUtils.delete(temp);
        Files.createDirectories(temp);
        PeftAdapter.save(adapter, temp, baseModelNameOrPath, DType.F32);
        writeOptimizer(temp.resolve(OPTIMIZER_FILE));
        PeftAdapter.writeAtomically(temp.resolve(STATE_FILE), stateJson());
        PeftAdapter.fsyncDirectory(temp);
        if (Files.exists(target)) {
            PathUtils.delete(old);
            Files.move(target, old);
        }
        Files.move(temp, target);
        PeftAdapter.fsyncDirectory(parent);
        PathUtils.delete(old);
    }

    private void writeOptimizer(Path file) throws IOException {
        long n = optimizer.size();
        List<SafetensorsWriter.Entry> entries = List.of(
                new SafetensorsWriter.Entry("exp_avg", DType.F32, new long[]{n}),
                new SafetensorsWriter.Entry("exp_avg_sq", DType.F32, new long[]{n}));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("step", Long.toString(optimizer.stepCount()));
        SafetensorsWriter w = SafetensorsWriter.create(file, entries, meta);
        try {
            w.writeFloats("exp_avg", optimizer.expAvg());
            w.writeFloats("exp_avg_sq", optimizer.expAvgSq());
        } catch (IOException | RuntimeException e) {
            w.abort();
            throw e;
        }
        w.close();
        PeftAdapter.fsync(file);
    }

    private byte[] stateJson() throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format_version", FORMAT_VERSION);
        m.put("step", step);
        m.put("optimizer_step", optimizer.stepCount());
        AdamW.Config c = optimizer.config;
        m.put("adam_beta1", c.beta1());
        m.put("adam_beta2", c.beta2());
        m.put("adam_epsilon", c.eps());
        m.put("weight_decay", c.weightDecay());
        m.put("dropout_counter", dropoutCounter);
        m.put("rng_states", rngStates);
        m.put("extra", extra);
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(m);
    }

    /** Reads a state written by {@link #save}; a missing or inconsistent file is a one-line error naming it. */
    public static TrainingState load(Path dir, LlamaConfig model) throws IOException {
        Path target = dir.toAbsolutePath();
        if (!Files.isRegularFile(target.resolve(STATE_FILE))) {
            Path old = target.resolveSibling(target.getFileName() + ".old");
            if (Files.isRegularFile(old.resolve(STATE_FILE))) {
                target = old; // a save was interrupted between its two renames: the previous state is complete
            } else {
                throw new IOException("no training state (" + STATE_FILE + ") in " + dir);
            }
        }
        Path stateFile = target.resolve(STATE_FILE);
        JsonNode s;
        try {
            s = JSON.readTree(stateFile.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(stateFile + ": not valid JSON: " + e.getOriginalMessage());
        }
        if (s == null || s.path("format_version").asInt(-1) != FORMAT_VERSION) {
            throw new IOException(stateFile + ": unsupported format_version " + (s == null ? null : s.get("format_version")));
        }
        LoraAdapter adapter = PeftAdapter.load(target, model);
        AdamW.Config config;
        try {
            config = new AdamW.Config(s.path("adam_beta1").asDouble(), s.path("adam_beta2").asDouble(),
                    s.path("adam_epsilon").asDouble(), s.path("weight_decay").asDouble());
        } catch (IllegalArgumentException e) {
            throw new IOException(stateFile + ": " + e.getMessage(), e);
        }
        AdamW optimizer = new AdamW(config, adapter.parameterCount());
        Path optFile = target.resolve(OPTIMIZER_FILE);
        try (SafetensorsFile f = SafetensorsFile.open(optFile)) {
            for (String name : List.of("exp_avg", "exp_avg_sq")) {
                if (f.info(name).numel() != adapter.parameterCount() || f.info(name).dtype() != DType.F32) {
                    throw new IOException(optFile + ": tensor " + name + " is " + f.info(name) + ", expected F32["
                            + adapter.parameterCount() + "]");
                }
            }
            optimizer.restore(s.path("optimizer_step").asLong(), f.readFloats("exp_avg"), f.readFloats("exp_avg_sq"));
        }
        Map<String, long[]> rng = new TreeMap<>();
        s.path("rng_states").fields().forEachRemaining(e -> {
            List<Long> words = new ArrayList<>();
            e.getValue().forEach(w -> words.add(w.asLong()));
            rng.put(e.getKey(), words.stream().mapToLong(Long::longValue).toArray());
        });
        Map<String, String> extra = new TreeMap<>();
        s.path("extra").fields().forEachRemaining(e -> extra.put(e.getKey(), e.getValue().asText()));
        return new TrainingState(adapter, optimizer, s.path("step").asLong(), s.path("dropout_counter").asLong(), rng, extra);
    }
}
