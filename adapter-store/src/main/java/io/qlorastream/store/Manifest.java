package io.qlorastream.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * An artifact's manifest.json: {@code {"files": {name: sha256hex}}}, names sorted, so the same files always give the
 * same bytes (and the same manifest hash).
 */
public final class Manifest {
    public static final String FILE_NAME = "manifest.json";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");

    private final Map<String, String> files;

    /** @param files name to lowercase SHA-256 hex; names are plain file names (no directories) */
    public Manifest(Map<String, String> files) {
        TreeMap<String, String> sorted = new TreeMap<>();
        files.forEach((name, sha) -> {
            checkFileName(name);
            if (FILE_NAME.equals(name)) {
                throw new IllegalArgumentException("a manifest does not list itself");
            }
            if (sha == null || !SHA256_HEX.matcher(sha).matches()) {
                throw new IllegalArgumentException("not a lowercase SHA-256 hex digest for " + name + ": " + sha);
            }
            sorted.put(name, sha);
        });
        this.files = Collections.unmodifiableMap(sorted);
    }

    /** Name to SHA-256 hex, sorted by name. */
    public Map<String, String> files() {
        return files;
    }

    public byte[] toJson() {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode fileNode = root.putObject("files");
        files.forEach(fileNode::put);
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root).concat("\n")
                    .getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Parses manifest bytes; {@link IllegalArgumentException} when they are not a valid manifest. */
    public static Manifest parse(byte[] json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("not JSON: " + e.getMessage());
        }
        JsonNode fileNode = root == null ? null : root.get("files");
        if (fileNode == null || !fileNode.isObject()) {
            throw new IllegalArgumentException("no \"files\" object");
        }
        Map<String, String> files = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : fileNode.properties()) {
            if (!e.getValue().isTextual()) {
                throw new IllegalArgumentException("hash of " + e.getKey() + " is not a string");
            }
            files.put(e.getKey(), e.getValue().asText());
        }
        return new Manifest(files);
    }

    /**
     * A manifest names plain files: a name with a separator or "." / ".." could write outside the directory a fetch
     * downloads into.
     */
    static void checkFileName(String name) {
        if (name == null || name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('/') >= 0
                || name.indexOf('\\') >= 0 || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("not a plain file name: " + name);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Manifest m && m.files.equals(files);
    }

    @Override
    public int hashCode() {
        return files.hashCode();
    }

    @Override
    public String toString() {
        return "Manifest" + files;
    }
}
