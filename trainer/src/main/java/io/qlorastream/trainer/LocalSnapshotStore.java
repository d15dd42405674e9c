package io.qlorastream.trainer;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.engine.lora.PeftAdapter;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * A {@link SnapshotStore} on a local directory: each file is copied to a temp name, fsynced and renamed, then
 * {@code manifest.json} ({"files": {name: sha256}}) is written the same way, last, so a reader that finds the manifest
 * finds every file complete.
 */
public final class LocalSnapshotStore implements SnapshotStore {
    public static final String MANIFEST = "manifest.json";
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path root;

    public LocalSnapshotStore(Path root) {
        this.root = root.toAbsolutePath();
    }

    public Path root() {
        return root;
    }

    @Override
    public Artifact put(String relativeDir, Path localDir) throws IOException {
        Path target = root.resolve(relativeDir).normalize();
        if (!target.startsWith(root)) {
            throw new IOException("artifact directory " + relativeDir + " lies outside the store " + root);
        }
        Files.createDirectories(target);
        List<Path> files;
        try (Stream<Path> s = Files.list(localDir)) {
            files = s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().equals(MANIFEST)).sorted().toList();
        }
        Map<String, String> sums = new TreeMap<>();
        for (Path f : files) {
            String name = f.getFileName().toString();
            Path tmp = target.resolve(name + ".tmp");
            Files.copy(f, tmp, StandardCopyOption.REPLACE_EXISTING);
            PeftAdapter.fsync(tmp);
            Files.move(tmp, target.resolve(name), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            sums.put(name, sha256(target.resolve(name)));
        }
        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("files", sums);
        PeftAdapter.writeAtomically(target.resolve(MANIFEST), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(manifest));
        PeftAdapter.fsyncDirectory(target);
        Map<String, String> all = new TreeMap<>(sums);
        all.put(MANIFEST, sha256(target.resolve(MANIFEST)));
        return new Artifact(target.toUri(), all);
    }

    public static String sha256(Path file) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
