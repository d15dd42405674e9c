package io.qlorastream.store;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/** What every store does the same way: verified fetch, and copy as verified fetch + put. */
abstract class BaseAdapterStore implements AdapterStore {

    /** The artifact's directory relative to the root; {@link IllegalArgumentException} when it is not in this store. */
    abstract String relativeDirOf(URI artifactUri);

    /** The URI of an artifact directory of this store. */
    abstract URI uriOf(String relativeDir);

    /** Opens one file of an artifact; {@link NoSuchFileException} when there is none. */
    abstract InputStream openFile(String relativeDir, String name) throws IOException;

    @Override
    public final void fetch(URI artifactUri, Map<String, String> expectedSha256, Path localDir) throws IOException {
        String relativeDir = relativeDirOf(artifactUri);
        URI artifact = uriOf(relativeDir);
        Manifest manifest;
        byte[] manifestBytes = readManifest(relativeDir, artifact);
        manifest = checkManifest(artifact, manifestBytes, expectedSha256);

        Files.createDirectories(localDir);
        // Download everything beside the final names first and only then rename: a bad file never lands in localDir
        // under its own name, and a failure leaves the files of an earlier fetch there as they were.
        Map<String, Path> staged = new LinkedHashMap<>();
        String tag = UUID.randomUUID().toString();
        try {
            for (Map.Entry<String, String> file : manifest.files().entrySet()) {
                String name = file.getKey();
                Path temp = localDir.resolve("." + name + "." + tag + ".part");
                staged.put(name, temp);
                String actual;
                try (InputStream in = openFile(relativeDir, name)) {
                    actual = StoreFiles.writeDurably(in, temp);
                } catch (NoSuchFileException e) {
                    throw new ArtifactVerificationException(artifact, name, "listed in manifest.json but missing");
                }
                if (!actual.equals(file.getValue())) {
                    throw new ArtifactVerificationException(artifact, name,
                            "SHA-256 is " + actual + " but manifest.json says " + file.getValue());
                }
            }
            Path manifestTemp = localDir.resolve("." + Manifest.FILE_NAME + "." + tag + ".part");
            staged.put(Manifest.FILE_NAME, manifestTemp);
            StoreFiles.writeDurably(manifestBytes, manifestTemp);
            for (Map.Entry<String, Path> file : staged.entrySet()) {
                Files.move(file.getValue(), localDir.resolve(file.getKey()), StandardCopyOption.REPLACE_EXISTING,
                        StandardCopyOption.ATOMIC_MOVE);
            }
            staged.clear();
            StoreFiles.forceDirectory(localDir);
        } finally {
            for (Path temp : staged.values()) {
                Files.deleteIfExists(temp);
            }
        }
    }

    @Override
    public final StoredArtifact copy(URI from, Map<String, String> expectedSha256, String toRelativeDir)
            throws IOException {
        RelativeDirs.normalize(toRelativeDir, false);
        // Through a local temp directory: what is put is exactly the bytes that were verified.
        Path temp = Files.createTempDirectory("qlora-stream-copy-");
        try {
            if (holds(from)) {
                fetch(from, expectedSha256, temp);
            } else {
                try (AdapterStore source = AdapterStore.forUri(from)) {
                    source.fetch(from, expectedSha256, temp);
                }
            }
            return put(toRelativeDir, temp);
        } finally {
            StoreFiles.deleteQuietly(temp);
        }
    }

    @Override
    public final boolean exists(URI artifactUri) throws IOException {
        return hasManifest(relativeDirOf(artifactUri));
    }

    abstract boolean hasManifest(String relativeDir) throws IOException;

    final boolean holds(URI uri) {
        try {
            relativeDirOf(uri);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private byte[] readManifest(String relativeDir, URI artifact) throws IOException {
        try (InputStream in = openFile(relativeDir, Manifest.FILE_NAME)) {
            return in.readAllBytes();
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(artifact.toString(), null,
                    "no artifact there (no " + Manifest.FILE_NAME + ")");
        }
    }

    /**
     * Checks the manifest bytes against the expected hash of manifest.json (when given), parses them and checks every
     * expected file hash against the manifest's.
     */
    static Manifest checkManifest(URI artifact, byte[] manifestBytes, Map<String, String> expectedSha256)
            throws ArtifactVerificationException {
        Map<String, String> expected = new LinkedHashMap<>();
        expectedSha256.forEach((name, sha) -> expected.put(name, sha == null ? null : sha.toLowerCase(Locale.ROOT)));
        String expectedManifest = expected.remove(Manifest.FILE_NAME);
        if (expectedManifest != null) {
            String actual = StoreFiles.sha256Hex(manifestBytes);
            if (!actual.equals(expectedManifest)) {
                throw new ArtifactVerificationException(artifact, Manifest.FILE_NAME,
                        "SHA-256 is " + actual + " but " + expectedManifest + " was expected");
            }
        }
        Manifest manifest;
        try {
            manifest = Manifest.parse(manifestBytes);
        } catch (IllegalArgumentException e) {
            throw new ArtifactVerificationException(artifact, Manifest.FILE_NAME,
                    "invalid manifest: " + e.getMessage());
        }
        for (Map.Entry<String, String> file : expected.entrySet()) {
            String listed = manifest.files().get(file.getKey());
            if (listed == null) {
                throw new ArtifactVerificationException(artifact, file.getKey(),
                        "expected but not listed in manifest.json");
            }
            if (!listed.equals(file.getValue())) {
                throw new ArtifactVerificationException(artifact, file.getKey(),
                        "manifest.json says SHA-256 " + listed + " but " + file.getValue() + " was expected");
            }
        }
        return manifest;
    }
}
