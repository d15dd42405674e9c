package io.qlorastream.evaluator;

import io.qlorastream.engine.model.ModelFingerprint;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 in lower-case hex, streamed so that large weight files never sit in memory. */
public final class Sha256 {
    private Sha256() {
    }

    public static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM lacks SHA-256", e);
        }
    }

    public static String of(Path file) throws IOException {
        MessageDigest md = digest();
        update(md, file);
        return hex(md.digest());
    }

    public static String of(byte[] bytes) {
        return hex(digest().digest(bytes));
    }

    static void update(MessageDigest md, Path file) throws IOException {
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
        }
    }

    public static String hex(byte[] digest) {
        return HexFormat.of().formatHex(digest);
    }

    /**
     * The base model's fingerprint, exactly as the trainer stamps it on every snapshot: the engine's
     * {@link ModelFingerprint} (config.json, then model.safetensors or its shards in name order).
     */
    public static String baseModel(Path modelDir) throws IOException {
        return ModelFingerprint.sha256(modelDir);
    }
}
