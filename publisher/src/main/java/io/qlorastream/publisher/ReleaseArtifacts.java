package io.qlorastream.publisher;

import io.qlorastream.events.AdapterRelease;
import io.qlorastream.store.AdapterStore;
import io.qlorastream.store.ArtifactVerificationException;
import io.qlorastream.store.StoredArtifact;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Promotes a snapshot's files to {@code <adapter>/releases/v<N>/} of the adapter store: fetched from the snapshot's URI
 * and verified against the evaluation's SHA-256 per file (the files the evaluator judged, and no others), signed, then
 * written with {@code release.json}; the store's own hashes of what it wrote must equal the snapshot's.
 */
public final class ReleaseArtifacts {
    private final AdapterStore store;

    public ReleaseArtifacts(AdapterStore store) {
        this.store = store;
    }

    public static String releaseDir(String adapter, int version) {
        return adapter + "/releases/v" + version;
    }

    /**
     * Copies the snapshot into the release directory; {@code release} must be complete but for its signature, artifact
     * URI and hashes, which this sets. Throws {@link ArtifactVerificationException} when a file does not match.
     */
    public void promote(AdapterRelease release, URI snapshotUri, Map<String, String> expectedSha256, SigningKeys keys) throws IOException {
        Path tmp = Files.createTempDirectory("qlora-release-");
        try {
            try (AdapterStore source = AdapterStore.forUri(snapshotUri)) {
                source.fetch(snapshotUri, expectedSha256, tmp);
            } catch (IOException e) {
                throw e;
            } catch (Exception e) {
                throw new IOException("cannot fetch " + snapshotUri + ": " + e.getMessage(), e);
            }
            // The store's manifest of the snapshot is replaced by the release directory's own.
            Files.deleteIfExists(tmp.resolve(ReleaseManifest.STORE_MANIFEST_FILE));
            Map<String, String> files = new TreeMap<>();
            try (Stream<Path> s = Files.list(tmp)) {
                for (Path f : s.filter(Files::isRegularFile).toList()) {
                    files.put(f.getFileName().toString(), sha256(f));
                }
            }
            Map<String, String> expectedPeft = ReleaseManifest.signedFiles(expectedSha256);
            if (!files.equals(expectedPeft)) {
                throw new ArtifactVerificationException("snapshot " + snapshotUri + ": fetched files " + files.keySet()
                        + " do not match the evaluated ones " + expectedPeft.keySet() + " or their SHA-256");
            }
            release.setArtifactSha256(files);
            release.setArtifactUri("");
            ReleaseManifest.sign(release, keys.privateKey());
            Files.write(tmp.resolve(ReleaseManifest.RELEASE_FILE), ReleaseManifest.releaseFile(release));
            StoredArtifact stored = store.put(releaseDir(release.getAdapterName(), release.getVersion()), tmp);
            if (!ReleaseManifest.signedFiles(stored.sha256()).equals(files)) {
                throw new ArtifactVerificationException("release " + stored.uri() + ": the store wrote " + stored.sha256()
                        + ", expected " + files);
            }
            release.setArtifactUri(stored.uri().toString());
            release.setArtifactSha256(new TreeMap<>(stored.sha256()));
        } finally {
            deleteTree(tmp);
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

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
