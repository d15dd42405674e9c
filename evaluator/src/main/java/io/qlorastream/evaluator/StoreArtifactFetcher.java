package io.qlorastream.evaluator;

import io.qlorastream.store.AdapterStore;
import io.qlorastream.store.ArtifactVerificationException;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;

/**
 * Fetches through the adapter store the evaluator is configured with: an artifact outside it is refused
 * ({@link IllegalArgumentException}), a file that does not match its SHA-256 or the manifest is {@link Rejected}.
 */
public final class StoreArtifactFetcher implements ArtifactFetcher {
    private final AdapterStore store;

    public StoreArtifactFetcher(AdapterStore store) {
        this.store = store;
    }

    @Override
    public void fetch(URI artifact, Map<String, String> expectedSha256, Path localDir) throws IOException {
        try {
            store.fetch(artifact, expectedSha256, localDir);
        } catch (ArtifactVerificationException e) {
            throw new Rejected(e.getMessage(), e);
        }
    }
}
