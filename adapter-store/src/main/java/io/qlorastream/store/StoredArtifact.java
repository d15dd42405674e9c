package io.qlorastream.store;

import java.net.URI;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * An artifact as stored: the URI of its directory and the SHA-256 (lowercase hex) of each file, manifest.json
 * included. The map is sorted by name and unmodifiable.
 */
public record StoredArtifact(URI uri, Map<String, String> sha256) {
    public StoredArtifact {
        Objects.requireNonNull(uri, "uri");
        sha256 = Collections.unmodifiableMap(new TreeMap<>(Objects.requireNonNull(sha256, "sha256")));
    }
}
