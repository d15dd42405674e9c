package io.qlorastream.store;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * A store in a local directory.
 *
 * <p>put builds the artifact in a hidden staging directory of the store ({@code .staging/<uuid>}): each file written
 * and forced to disk, manifest.json last, the directory forced; then one atomic rename moves the whole directory to
 * its place. A reader therefore never sees an artifact directory without its manifest, nor a half-written file, and
 * a crash leaves at most a hidden staging directory behind.
 */
final class LocalAdapterStore extends BaseAdapterStore {
    static final String STAGING_DIR = ".staging";

    private final Path root;

    LocalAdapterStore(Path root) {
        this.root = root.toAbsolutePath().normalize();
        if (Files.exists(this.root) && !Files.isDirectory(this.root)) {
            throw new IllegalArgumentException("adapter store is not a directory: " + this.root);
        }
    }

    @Override
    public URI location() {
        return directoryUri(root);
    }

    @Override
    public StoredArtifact put(String relativeDir, Path localDir) throws IOException {
        String relative = RelativeDirs.normalize(relativeDir, false);
        Path target = root.resolve(relative);
        URI artifact = directoryUri(target);
        Map<String, Path> files = StoreFiles.artifactFiles(localDir);

        Path staging = root.resolve(STAGING_DIR).resolve(UUID.randomUUID().toString());
        Files.createDirectories(staging);
        try {
            Map<String, String> sha256 = new TreeMap<>();
            for (Map.Entry<String, Path> file : files.entrySet()) {
                try (InputStream in = Files.newInputStream(file.getValue())) {
                    sha256.put(file.getKey(), StoreFiles.writeDurably(in, staging.resolve(file.getKey())));
                }
            }
            byte[] manifest = new Manifest(sha256).toJson();
            sha256.put(Manifest.FILE_NAME, StoreFiles.writeDurably(manifest, staging.resolve(Manifest.FILE_NAME)));
            StoreFiles.forceDirectory(staging);

            Files.createDirectories(target.getParent());
            try {
                Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                // rename(2) refuses a non-empty target: someone stored there first. The same files again are no error.
                Path existing = target.resolve(Manifest.FILE_NAME);
                if (Files.isRegularFile(existing) && Arrays.equals(Files.readAllBytes(existing), manifest)) {
                    return new StoredArtifact(artifact, sha256);
                }
                if (Files.exists(target)) {
                    throw new FileAlreadyExistsException(artifact.toString(), null,
                            "a different artifact is already stored there; artifacts are immutable");
                }
                throw e;
            }
            StoreFiles.forceDirectory(target.getParent());
            return new StoredArtifact(artifact, sha256);
        } finally {
            StoreFiles.deleteQuietly(staging);
        }
    }

    @Override
    public List<String> list(String relativeDir) throws IOException {
        Path dir = root.resolve(RelativeDirs.normalize(relativeDir, true));
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<String> names = new ArrayList<>();
        try (Stream<Path> children = Files.list(dir)) {
            children.map(p -> p.getFileName().toString())
                    // Hidden names are the store's own: staging directories, fetch/put temp files.
                    .filter(name -> !name.startsWith("."))
                    .forEach(names::add);
        }
        names.sort(null);
        return names;
    }

    @Override
    boolean hasManifest(String relativeDir) {
        return Files.isRegularFile(root.resolve(relativeDir).resolve(Manifest.FILE_NAME));
    }

    @Override
    String relativeDirOf(URI artifactUri) {
        if (!"file".equalsIgnoreCase(artifactUri.getScheme())) {
            throw new IllegalArgumentException(artifactUri + " is not in the adapter store " + location());
        }
        Path path = Path.of(artifactUri).toAbsolutePath().normalize();
        if (!path.startsWith(root) || path.equals(root)) {
            throw new IllegalArgumentException(artifactUri + " is not in the adapter store " + location());
        }
        List<String> segments = new ArrayList<>();
        root.relativize(path).forEach(p -> segments.add(p.toString()));
        return RelativeDirs.normalize(String.join("/", segments), false);
    }

    @Override
    URI uriOf(String relativeDir) {
        return directoryUri(root.resolve(relativeDir));
    }

    @Override
    InputStream openFile(String relativeDir, String name) throws IOException {
        return Files.newInputStream(root.resolve(relativeDir).resolve(name));
    }

    @Override
    public void close() {
        // Nothing held.
    }

    @Override
    public String toString() {
        return "LocalAdapterStore[" + root + "]";
    }

    /** file:///abs/dir without a trailing slash, whether or not the directory exists yet. */
    private static URI directoryUri(Path dir) {
        String uri = dir.toUri().toString();
        return URI.create(uri.endsWith("/") && uri.length() > "file:///".length() ? uri.substring(0, uri.length() - 1)
                : uri);
    }
}
