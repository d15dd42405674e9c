package io.qlorastream.engine.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The weights of a Hugging Face model directory: {@code model.safetensors}, or the shards listed by
 * {@code model.safetensors.index.json} ({@code {"metadata": {...}, "weight_map": {tensor: file}}}).
 */
public final class SafetensorsCheckpoint implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path dir;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byTensor;

    private SafetensorsCheckpoint(Path dir, List<SafetensorsFile> files, Map<String, SafetensorsFile> byTensor) {
        this.dir = dir;
        this.files = files;
        this.byTensor = byTensor;
    }

    public static SafetensorsCheckpoint open(Path modelDir) throws IOException {
        Path index = modelDir.resolve(INDEX_FILE);
        Path single = modelDir.resolve(SINGLE_FILE);
        List<SafetensorsFile> files = new ArrayList<>();
        Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
        try {
            if (Files.isRegularFile(index)) {
                JsonNode map = new ObjectMapper().readTree(index.toFile()).get("weight_map");
                if (map == null || !map.isObject()) {
                    throw new IOException(index + ": no \"weight_map\" object");
                }
                Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
                for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    String shardName = e.getValue().asText();
                    SafetensorsFile shard = shards.get(shardName);
                    if (shard == null) {
                        Path shardPath = modelDir.resolve(shardName);
                        if (!Files.isRegularFile(shardPath)) {
                            throw new IOException(index + ": tensor " + e.getKey() + " is in " + shardName + ", which does not exist");
                        }
                        shard = SafetensorsFile.open(shardPath);
                        shards.put(shardName, shard);
                        files.add(shard);
                    }
                    if (!shard.contains(e.getKey())) {
                        throw new IOException("missing tensor " + e.getKey() + " in " + shard.path() + " (listed by " + index + ")");
                    }
                    byTensor.put(e.getKey(), shard);
                }
            } else if (Files.isRegularFile(single)) {
                SafetensorsFile f = SafetensorsFile.open(single);
                files.add(f);
                for (String n : f.names()) {
                    byTensor.put(n, f);
                }
            } else {
                throw new IOException("no " + SINGLE_FILE + " or " + INDEX_FILE + " in " + modelDir);
            }
        } catch (IOException | RuntimeException e) {
            for (SafetensorsFile f : files) {
                f.close();
            }
            throw e;
        }
        return new SafetensorsCheckpoint(modelDir, List.copyOf(files), Collections.unmodifiableMap(byTensor));
    }

    public Path dir() {
        return dir;
    }

    public List<SafetensorsFile> files() {
        return files;
    }

    public Set<String> names() {
        return byTensor.keySet();
    }

    public boolean contains(String name) {
        return byTensor.containsKey(name);
    }

    /** The file holding {@code name}; a missing tensor is an IOException naming it and the checkpoint. */
    public SafetensorsFile fileOf(String name) throws IOException {
        SafetensorsFile f = byTensor.get(name);
        if (f == null) {
            throw new IOException("missing tensor " + name + " in " + (files.size() == 1 ? files.get(0).path() : dir.resolve(INDEX_FILE)));
        }
        return f;
    }

    public TensorInfo info(String name) throws IOException {
        return fileOf(name).info(name);
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (SafetensorsFile f : files) {
            try {
                f.close();
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
