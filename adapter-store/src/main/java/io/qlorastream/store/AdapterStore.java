package io.qlorastream.store;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Where adapter artifacts (snapshots, releases) live: a local directory or an S3-compatible bucket.
 *
 * <p>An artifact is a directory of files plus {@value Manifest#FILE_NAME} ({@code {"files": {name: sha256hex}}}),
 * written last: an artifact exists exactly when its manifest does. Every read verifies SHA-256 of every file, so a
 * reader either gets the bytes the writer put or an {@link ArtifactVerificationException} naming the bad file.
 */
public interface AdapterStore extends AutoCloseable {

    /**
     * Opens the store at {@code location}: a local directory path, a {@code file:} URI, or {@code s3://bucket/prefix}
     * with the S3 settings of the environment ({@link S3Settings#fromEnvironment()}).
     */
    static AdapterStore open(String location) {
        return open(location, null);
    }

    /**
     * As {@link #open(String)}, with explicit S3 settings ({@code null}: from the environment); used for s3:// only.
     */
    static AdapterStore open(String location, S3Settings s3) {
        if (location == null || location.isBlank()) {
            throw new IllegalArgumentException("adapter store location is empty");
        }
        String trimmed = location.trim();
        if (trimmed.regionMatches(true, 0, "s3:", 0, 3)) {
            return S3AdapterStore.open(URI.create(trimmed), s3 == null ? S3Settings.fromEnvironment() : s3);
        }
        if (trimmed.regionMatches(true, 0, "file:", 0, 5)) {
            return new LocalAdapterStore(Path.of(URI.create(trimmed)));
        }
        return new LocalAdapterStore(Path.of(trimmed));
    }

    /**
     * Opens a store that holds the artifact at {@code artifactUri}, enough to {@link #fetch}, {@link #exists} or copy
     * from it: for {@code file:} the artifact's parent directory, for {@code s3:} the bucket (S3 settings from the
     * environment).
     */
    static AdapterStore forUri(URI artifactUri) {
        String scheme = artifactUri.getScheme();
        if ("file".equalsIgnoreCase(scheme)) {
            Path artifact = Path.of(artifactUri).toAbsolutePath().normalize();
            if (artifact.getParent() == null) {
                throw new IllegalArgumentException("not an artifact URI: " + artifactUri);
            }
            return new LocalAdapterStore(artifact.getParent());
        }
        if ("s3".equalsIgnoreCase(scheme)) {
            return S3AdapterStore.open(URI.create("s3://" + artifactUri.getAuthority()), S3Settings.fromEnvironment());
        }
        throw new IllegalArgumentException("unsupported artifact URI (want file: or s3:): " + artifactUri);
    }

    /** The store's root: {@code file:///...} or {@code s3://bucket/prefix}. */
    URI location();

    /**
     * Uploads every regular file of localDir under relativeDir (e.g. "support/snapshots/<id>"), then writes
     * manifest.json {"files": {name: sha256hex}}; returns the artifact (URI of the dir, sha256 of each file incl.
     * manifest.json). Atomic from a reader's view: manifest.json is written last.
     *
     * <p>A {@code manifest.json} inside localDir is not uploaded as such: the manifest is always computed. Putting the
     * same files again to the same place returns the stored artifact; different files there are refused with
     * {@link java.nio.file.FileAlreadyExistsException} (artifacts are immutable).
     */
    StoredArtifact put(String relativeDir, Path localDir) throws IOException;

    /**
     * Downloads the artifact at uri (must lie in this store) into localDir and verifies every file against
     * expectedSha256 (and the manifest); throws ArtifactVerificationException naming the file on mismatch.
     *
     * <p>Every file the manifest lists is downloaded and checked against the manifest; expectedSha256 may name all of
     * them (as {@link StoredArtifact#sha256()} does, manifest.json included) or a subset. No file lands in localDir
     * under its own name before it has been verified.
     */
    void fetch(URI artifactUri, Map<String, String> expectedSha256, Path localDir) throws IOException;

    /**
     * Copies an artifact to relativeDir inside this store, verifying sources first; returns the new artifact.
     * {@code from} may lie in this store or in another one ({@link #forUri}).
     */
    StoredArtifact copy(URI from, Map<String, String> expectedSha256, String toRelativeDir) throws IOException;

    /** Whether a complete artifact (its manifest) is at artifactUri, which must lie in this store. */
    boolean exists(URI artifactUri) throws IOException;

    /** Names of the child dirs/files of relativeDir ("" for the root), sorted; empty when there is none. */
    List<String> list(String relativeDir) throws IOException;

    /** Releases the client (S3); nothing for a local store. */
    @Override
    void close();
}
