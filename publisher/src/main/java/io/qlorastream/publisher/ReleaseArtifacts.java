package io.qlorastream.publisher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.store.AdapterStore;
import io.qlorastream.store.ArtifactVerificationException;
import io.qlorastream.store.StoredArtifact;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.apache.commons.io.file.PathUtils;
import org.slf4j.LoggerFactory;

/**
 * Promotes a snapshot's files to {@code <adapter>/releases/v<N>/} of the adapter store: fetched from the snapshot's URI
 * and verified against the evaluation's SHA-256 per file (the files the evaluator judged, and no others), signed, then
 * written with {@code release.json}; the store's own hashes of what it wrote must equal the snapshot's.
 */
public final class ReleaseArtifacts {
    public static final String PEFT_CONFIG = "adapter_config.json";
    public static final String PEFT_WEIGHTS = "adapter_model.safetensors";
    private static final Logger LOG = LoggerFactory.getLogger(ReleaseArtifacts.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final AdapterStore store;

    public ReleaseArtifacts(AdapterStore store) {
        this.store = store;
    }

    public static String releaseDir(String adapter, int version) {
        return adapter + "/releases/v" + version;
    }

    /**
     * Copies the snapshot into the release directory; {@code release} must be complete but for its signature, artifact
     * URI and hashes, which this sets. Only the files the evaluator judged are released, and they must include the two
     * PEFT files. Throws {@link ArtifactVerificationException} when a file does not match.
     * <p>
     * Release directories are immutable in the store. When {@code v<N>} already exists it was left by an attempt that
     * never got published (the log, which decided N, has no v<N>): if it holds this very release (same snapshot,
     * evaluation and key; a publisher that stopped between the copy and the commit) the attempt is resumed with its
     * {@code released_at}, which makes the same signature and the same {@code release.json}; otherwise the number is
     * skipped and the next free one taken (the orphan directory is referenced by no event).
     */
    public void promote(AdapterRelease release, URI snapshotUri, Map<String, String> expectedSha256, SigningKeys keys) throws IOException {
        Map<String, String> judged = ReleaseManifest.signedFiles(expectedSha256);
        for (String required : List.of(PEFT_CONFIG, PEFT_WEIGHTS)) {
            if (!judged.containsKey(required)) {
                throw new ArtifactVerificationException(snapshotUri, required, "not among the files the evaluation judged");
            }
        }
        Path tmp = Files.createTempDirectory("qlora-release-");
        try {
            try (AdapterStore source = AdapterStore.forUri(snapshotUri)) {
                source.fetch(snapshotUri, expectedSha256, tmp);
            }
            // Our own check of each judged file, and nothing else goes into the release (the store's manifest of the
            // snapshot is replaced by the release directory's own).
            try (Stream<Path> s = Files.list(tmp)) {
                for (Path f : s.toList()) {
                    if (!judged.containsKey(f.getFileName().toString())) {
                        Files.delete(f);
                    }
                }
            }
            for (Map.Entry<String, String> e : judged.entrySet()) {
                Path f = tmp.resolve(e.getKey());
                if (!Files.isRegularFile(f) || !sha256(f).equals(e.getValue())) {
                    throw new ArtifactVerificationException(snapshotUri, e.getKey(), "missing or not the SHA-256 the evaluation judged");
                }
            }
            release.setArtifactSha256(new TreeMap<>(judged));
            release.setArtifactUri("");
            for (int version = release.getVersion(); ; version++) {
                release.setVersion(version);
                String dir = releaseDir(release.getAdapterName(), version);
                Optional<JsonNode> earlier = earlierAttempt(release.getAdapterName(), version);
                if (earlier.isPresent()) {
                    JsonNode m = earlier.get().path("manifest");
                    boolean same = release.getSnapshotId().equals(m.path("snapshot_id").asText())
                            && release.getEvaluationId().equals(m.path("evaluation_id").asText())
                            && keys.keyId().equals(m.path("public_key_id").asText());
                    if (!same) {
                        LOG.warn("{} holds an unpublished release of snapshot {}; skipping v{}", dir, m.path("snapshot_id").asText(), version);
                        continue;
                    }
                    release.setReleasedAt(Instant.ofEpochMilli(m.path("released_at").asLong()));
                    LOG.info("resuming the unpublished release in {}", dir);
                }
                ReleaseManifest.sign(release, keys.privateKey());
                Files.write(tmp.resolve(ReleaseManifest.RELEASE_FILE), ReleaseManifest.releaseFile(release));
                StoredArtifact stored;
                try {
                    stored = store.put(dir, tmp);
                } catch (FileAlreadyExistsException e) {
                    if (earlier.isPresent()) {
                        throw new ArtifactVerificationException(store.location(), dir, "holds other files than this release's (" + e.getMessage() + ")");
                    }
                    continue; // written meanwhile by someone else: not ours
                }
                if (!ReleaseManifest.signedFiles(stored.sha256()).equals(judged)) {
                    throw new ArtifactVerificationException(stored.uri(), "*", "the store wrote " + stored.sha256() + ", expected " + judged);
                }
                release.setArtifactUri(stored.uri().toString());
                release.setArtifactSha256(new TreeMap<>(stored.sha256()));
                return;
            }
        } finally {
            PathUtils.delete(tmp);
        }
    }

    /** The release.json of {@code <adapter>/releases/v<N>} when that directory exists. */
    private Optional<JsonNode> earlierAttempt(String adapter, int version) throws IOException {
        if (!store.list(adapter + "/releases").contains("v" + version)) {
            return Optional.empty();
        }
        String loc = store.location().toString();
        URI uri = URI.create(loc + (loc.endsWith("/") ? "" : "/") + releaseDir(adapter, version)); // the store's form: no trailing slash
        if (!store.exists(uri)) {
            return Optional.of(JSON.createObjectNode()); // an incomplete directory (no manifest): never ours to resume
        }
        Path tmp = Files.createTempDirectory("qlora-release-check-");
        try {
            store.fetch(uri, Map.of(), tmp);
            Path f = tmp.resolve(ReleaseManifest.RELEASE_FILE);
            return Optional.of(Files.isRegularFile(f) ? JSON.readTree(f.toFile()) : JSON.createObjectNode());
        } finally {
            PathUtils.delete(tmp);
        }
    }

    public static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                d.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(d.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
