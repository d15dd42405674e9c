package io.qlorastream.app.trainer;

import io.qlorastream.trainer.LocalSnapshotStore;
import io.qlorastream.trainer.SnapshotStore;

import java.net.URI;
import java.nio.file.Path;

/** {@code --adapter-store LOCATION} → the store snapshots go to. */
final class SnapshotStores {
    private SnapshotStores() {
    }

    static SnapshotStore open(String location) {
        if (location.startsWith("file:")) {
            return new LocalSnapshotStore(Path.of(URI.create(location)));
        }
        if (location.matches("^[a-zA-Z][a-zA-Z0-9+.-]*://.*")) {
            // the S3 store comes with the adapter-store module (io.qlorastream.store.AdapterStore)
            throw new IllegalArgumentException("--adapter-store: " + location + ": only a local directory or a file: URI is supported by this build");
        }
        return new LocalSnapshotStore(Path.of(location));
    }
}
