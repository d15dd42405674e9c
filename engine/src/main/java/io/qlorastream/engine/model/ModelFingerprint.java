package io.qlorastream.engine.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * The identity of a base model, shared by every service that must know which model an adapter applies to:
 * SHA-256 (hex) over the bytes of {@code config.json} followed by those of {@code model.safetensors} (for a sharded
 * checkpoint without that file: every {@code model-*.safetensors} shard in name order).
 */
public final class ModelFingerprint {
    private ModelFingerprint() {
    }

    public static String sha256(Path modelDir) throws IOException {
        List<Path> files = new ArrayList<>();
        files.add(modelDir.resolve("config.json"));
        Path single = modelDir.resolve("model.safetensors");
        if (Files.isRegularFile(single)) {
            files.add(single);
        } else {
            try (Stream<Path> s = Files.list(modelDir)) {
                s.filter(p -> p.getFileName().toString().matches("model-.*\\.safetensors")).sorted().forEach(files::add);
            }
            if (files.size() == 1) {
                throw new IOException("no model.safetensors (or model-*.safetensors shards) in " + modelDir);
            }
        }
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        byte[] buf = new byte[1 << 20];
        for (Path f : files) {
            if (!Files.isRegularFile(f)) {
                throw new IOException("no " + f.getFileName() + " in " + modelDir);
            }
            try (InputStream in = Files.newInputStream(f)) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    md.update(buf, 0, n);
                }
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
