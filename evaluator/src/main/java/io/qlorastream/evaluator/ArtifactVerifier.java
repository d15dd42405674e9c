package io.qlorastream.evaluator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.engine.lora.PeftAdapter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Checks a local copy of an adapter against the SHA-256 of each file before anything of it is loaded. */
public final class ArtifactVerifier {
    public static final String MANIFEST = "manifest.json";
    /** The files the evaluator loads: each must be covered by a checksum. */
    public static final List<String> LOADED_FILES = List.of(PeftAdapter.CONFIG_FILE, PeftAdapter.WEIGHTS_FILE);

    private ArtifactVerifier() {
    }

    /**
     * One line per problem: a file whose SHA-256 differs from the expected one, a loaded file that is missing or that
     * no checksum covers. Empty when the directory is what {@code expected} says.
     */
    public static List<String> mismatches(Path dir, Map<String, String> expected) throws IOException {
        List<String> problems = new ArrayList<>();
        for (String loaded : LOADED_FILES) {
            if (!expected.containsKey(loaded)) {
                problems.add(loaded + ": no expected SHA-256 for it");
            }
        }
        for (Map.Entry<String, String> e : new TreeMap<>(expected).entrySet()) {
            Path file = dir.resolve(e.getKey()).normalize();
            if (!file.startsWith(dir.normalize())) {
                problems.add(e.getKey() + ": names a file outside the artifact");
                continue;
            }
            if (!Files.isRegularFile(file)) {
                if (LOADED_FILES.contains(e.getKey())) {
                    problems.add(e.getKey() + ": missing");
                }
                continue; // not loaded (manifest.json): the store verified it while fetching, if it fetched it
            }
            String actual = Sha256.of(file);
            if (!actual.equalsIgnoreCase(e.getValue())) {
                problems.add(e.getKey() + ": SHA-256 " + abbreviate(actual) + " where " + abbreviate(e.getValue()) + " was expected");
            }
        }
        return problems;
    }

    /** The {@code files} map of a snapshot directory's {@code manifest.json}, or null when the directory has none. */
    public static Map<String, String> manifest(Path dir) throws IOException {
        Path file = dir.resolve(MANIFEST);
        if (!Files.isRegularFile(file)) {
            return null;
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(file + ": not valid JSON: " + e.getOriginalMessage());
        }
        JsonNode files = root == null ? null : root.get("files");
        if (files == null || !files.isObject()) {
            throw new IOException(file + ": no \"files\" object mapping file names to SHA-256");
        }
        Map<String, String> out = new TreeMap<>();
        files.fields().forEachRemaining(f -> out.put(f.getKey(), f.getValue().asText()));
        return out;
    }

    static String abbreviate(String hex) {
        return hex.length() > 12 ? hex.substring(0, 12) + "…" : hex;
    }
}
