package io.qlorastream.publisher.subscriber;

import io.qlorastream.events.AdapterRelease;
import io.qlorastream.publisher.ReleaseArtifacts;
import io.qlorastream.publisher.ReleaseManifest;
import io.qlorastream.publisher.SigningKeys;
import io.qlorastream.store.AdapterStore;
import io.qlorastream.store.ArtifactVerificationException;
import org.apache.commons.io.file.PathUtils;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.PublicKey;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A subscriber's directory: {@code <dir>/<adapter>/v<N>/} per verified release and {@code <dir>/<adapter>/current}, a
 * relative symbolic link to one of them, switched by renaming a new link over it (rename(2) is atomic, so a reader
 * resolves either the old or the new version, never a half-written one). A version directory is only ever created by
 * renaming a fully fetched and verified temporary directory into place.
 */
public final class LocalReleases {
    public static final String CURRENT = "current";
    private static final Pattern VERSION_DIR = Pattern.compile("v(\\d+)");

    private final Path dir;
    private final PublicKey trustedKey;

    /** {@code trustedKey} null: each release is checked against the key it carries (integrity, not authenticity). */
    public LocalReleases(Path dir, PublicKey trustedKey) {
        this.dir = dir;
        this.trustedKey = trustedKey;
    }

    /** Thrown when a release must not become current; the message says why. */
    public static final class RefusedException extends Exception {
        RefusedException(String message) {
            super(message);
        }
    }

    /**
     * Verifies the signature, fetches and verifies the files, switches {@code current}; returns the replaced version.
     * RefusedException: the release itself is bad. IOException: it could not be fetched now (worth retrying).
     */
    public Integer install(AdapterRelease r) throws RefusedException, IOException {
        String adapter = r.getAdapterName();
        if (adapter.isEmpty() || adapter.equals(".") || adapter.equals("..") || adapter.contains("/") || adapter.contains("\\")) {
            throw new RefusedException("adapter name " + adapter + " is not a plain directory name");
        }
        verifySignature(r);
        Path adapterDir = dir.resolve(adapter);
        Files.createDirectories(adapterDir);
        Path versionDir = adapterDir.resolve("v" + r.getVersion());
        Map<String, String> signed = ReleaseManifest.signedFiles(r.getArtifactSha256());
        if (!matches(versionDir, signed)) {
            fetch(r, adapterDir, versionDir);
        }
        Integer previous = currentVersion(adapter).orElse(null);
        Path link = adapterDir.resolve(".current-" + UUID.randomUUID());
        Files.createSymbolicLink(link, Path.of(versionDir.getFileName().toString()));
        Files.move(link, adapterDir.resolve(CURRENT), StandardCopyOption.ATOMIC_MOVE);
        return previous;
    }

    /** The version {@code <dir>/<adapter>/current} points at. */
    public Optional<Integer> currentVersion(String adapter) throws IOException {
        Path link = dir.resolve(adapter).resolve(CURRENT);
        if (!Files.isSymbolicLink(link)) {
            return Optional.empty();
        }
        Matcher m = VERSION_DIR.matcher(Files.readSymbolicLink(link).getFileName().toString());
        return m.matches() ? Optional.of(Integer.parseInt(m.group(1))) : Optional.empty();
    }

    private void verifySignature(AdapterRelease r) throws RefusedException {
        PublicKey key;
        if (trustedKey != null) {
            String trustedId = SigningKeys.keyId(trustedKey);
            if (!trustedId.equals(r.getPublicKeyId())) {
                throw new RefusedException("signed by key " + r.getPublicKeyId() + ", the trusted key is " + trustedId);
            }
            key = trustedKey;
        } else {
            try {
                key = SigningKeys.decodePublicKey(r.getPublicKey());
            } catch (IllegalArgumentException e) {
                throw new RefusedException("the release's public key is not an Ed25519 key");
            }
            if (!SigningKeys.keyId(key).equals(r.getPublicKeyId())) {
                throw new RefusedException("public_key_id " + r.getPublicKeyId() + " is not the id of the public key it carries");
            }
        }
        if (!ReleaseManifest.verify(r, key)) {
            throw new RefusedException("the Ed25519 signature does not match the release manifest");
        }
        if (ReleaseManifest.signedFiles(r.getArtifactSha256()).isEmpty()) {
            throw new RefusedException("the release lists no files");
        }
    }

    private void fetch(AdapterRelease r, Path adapterDir, Path versionDir) throws RefusedException, IOException {
        Path tmp = adapterDir.resolve(".incoming-v" + r.getVersion() + "-" + UUID.randomUUID());
        try {
            URI uri;
            try {
                uri = URI.create(r.getArtifactUri());
            } catch (IllegalArgumentException e) {
                throw new RefusedException("artifact URI " + r.getArtifactUri() + " is not a URI");
            }
            Files.createDirectories(tmp);
            try (AdapterStore store = AdapterStore.forUri(uri)) {
                store.fetch(uri, r.getArtifactSha256(), tmp);
            } catch (ArtifactVerificationException e) {
                throw new RefusedException("fetching " + uri + " failed: " + e.getMessage());
            } catch (IOException e) {
                throw e; // the store unreachable or a file missing: worth another try, not a verdict on the release
            } catch (Exception e) {
                throw new IOException("fetching " + uri + " failed: " + e, e);
            }
            // Our own check of what lies on our disk, whatever the store did.
            if (!matches(tmp, ReleaseManifest.signedFiles(r.getArtifactSha256()))) {
                throw new RefusedException("the fetched files do not match the signed SHA-256 of the release");
            }
            if (Files.exists(versionDir, LinkOption.NOFOLLOW_LINKS)) {
                // A stale or damaged copy of this version: replaced, never trusted (current may not point at it now).
                Path old = adapterDir.resolve(".stale-v" + r.getVersion() + "-" + UUID.randomUUID());
                Files.move(versionDir, old, StandardCopyOption.ATOMIC_MOVE);
                PathUtils.delete(old);
            }
            Files.move(tmp, versionDir, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            PathUtils.delete(tmp);
        }
    }

    /** True when every signed file is in {@code d} with its SHA-256. */
    static boolean matches(Path d, Map<String, String> signed) throws IOException {
        if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS) || signed.isEmpty()) {
            return false;
        }
        for (Map.Entry<String, String> e : signed.entrySet()) {
            Path f = d.resolve(e.getKey());
            if (!f.normalize().getParent().equals(d.normalize()) || !Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)
                    || !ReleaseArtifacts.sha256(f).equals(e.getValue())) {
                return false;
            }
        }
        return true;
    }
}
