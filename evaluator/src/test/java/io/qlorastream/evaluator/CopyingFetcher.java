package io.qlorastream.evaluator;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Test stand-in for the adapter store's fetch on file: URIs: copies each listed file and verifies its SHA-256. */
final class CopyingFetcher implements ArtifactFetcher {
    @Override
    public void fetch(URI artifact, Map<String, String> expectedSha256, Path localDir) throws IOException {
        Path from = Path.of(artifact);
        for (Map.Entry<String, String> e : expectedSha256.entrySet()) {
            Path target = localDir.resolve(e.getKey());
            Files.copy(from.resolve(e.getKey()), target);
            String actual = Sha256.of(target);
            if (!actual.equals(e.getValue())) {
                throw new Rejected(e.getKey() + ": SHA-256 " + actual + " does not match " + e.getValue(), null);
            }
        }
    }
}
