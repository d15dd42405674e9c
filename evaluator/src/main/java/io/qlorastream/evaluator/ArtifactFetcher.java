package io.qlorastream.evaluator;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;

/** Brings an artifact's files from the adapter store into a local directory, verifying each file's SHA-256. */
@FunctionalInterface
public interface ArtifactFetcher {
    /**
     * @throws Rejected when a file does not match its expected SHA-256 (or the manifest): a verdict, not an outage
     * @throws IOException any other failure (store unreachable, artifact missing)
     */
    void fetch(URI artifact, Map<String, String> expectedSha256, Path localDir) throws IOException;

    /** The artifact's bytes are not what its event says: the snapshot fails its checksum check. */
    final class Rejected extends IOException {
        public Rejected(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
