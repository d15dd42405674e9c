package io.qlorastream.evaluator;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Fetches {@code file:} artifacts that lie under one root directory: copies each file the event lists and verifies
 * its SHA-256 ({@link Rejected} on a mismatch). The adapter store's own fetch replaces this once the store module is
 * merged; until then it serves local-directory stores.
 */
public final class FileArtifactFetcher implements ArtifactFetcher {
    private final Path root;

    public FileArtifactFetcher(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    @Override
    public void fetch(URI artifact, Map<String, String> expectedSha256, Path localDir) throws IOException {
        if (!"file".equals(artifact.getScheme())) {
            throw new IOException("cannot fetch " + artifact + ": this evaluator reads a local adapter store (" + root + ") only");
        }
        Path from = Path.of(artifact).toAbsolutePath().normalize();
        if (!from.startsWith(root)) {
            throw new IOException(artifact + " does not lie in the adapter store " + root);
        }
        for (Map.Entry<String, String> e : expectedSha256.entrySet()) {
            Path source = from.resolve(e.getKey()).normalize();
            if (!source.startsWith(from)) {
                throw new Rejected(e.getKey() + ": names a file outside the artifact", null);
            }
            if (!Files.isRegularFile(source)) {
                throw new java.nio.file.NoSuchFileException(source.toString(), null, "listed in the snapshot event but not in the store");
            }
            Path target = localDir.resolve(e.getKey());
            Files.copy(source, target);
            String actual = Sha256.of(target);
            if (!actual.equalsIgnoreCase(e.getValue())) {
                throw new Rejected(e.getKey() + ": SHA-256 " + actual + " does not match the expected " + e.getValue(), null);
            }
        }
    }
}
