package io.qlorastream.trainer;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where snapshot files go: the one operation of the adapter store ({@code io.qlorastream.store.AdapterStore#put})
 * the trainer needs. {@link LocalSnapshotStore} serves a local directory with the same layout and manifest until the
 * adapter-store module is merged; {@code AdapterStore::put} then fits this interface through a one-line adapter.
 */
@FunctionalInterface
public interface SnapshotStore {
    /** The stored artifact: URI of its directory and SHA-256 (hex) of each file, manifest.json included. */
    record Artifact(URI uri, Map<String, String> sha256) {
    }

    /** Uploads every regular file of {@code localDir} under {@code relativeDir}, manifest.json last. */
    Artifact put(String relativeDir, Path localDir) throws IOException;
}
