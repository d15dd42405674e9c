package io.qlorastream.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import org.apache.commons.io.file.PathUtils;

/** File and hash helpers shared by the stores. */
final class StoreFiles {
    private static final int BUFFER = 1 << 16;

    private StoreFiles() {}

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java has SHA-256", e);
        }
    }

    static String sha256Hex(byte[] bytes) {
        return HexFormat.of().formatHex(sha256().digest(bytes));
    }

    /** SHA-256 of a file, streamed. */
    static byte[] sha256(Path file) throws IOException {
        MessageDigest digest = sha256();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[BUFFER];
            for (int n; (n = in.read(buffer)) >= 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return digest.digest();
    }

    /**
     * Writes {@code in} to {@code target} (created or truncated), forces it to the disk and returns the SHA-256 hex
     * of the bytes written: the hash is of what landed, not of what a second read might see.
     */
    static String writeDurably(InputStream in, Path target) throws IOException {
        MessageDigest digest = sha256();
        try (FileChannel channel = FileChannel.open(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            byte[] buffer = new byte[BUFFER];
            for (int n; (n = in.read(buffer)) >= 0; ) {
                digest.update(buffer, 0, n);
                ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, n);
                while (chunk.hasRemaining()) {
                    channel.write(chunk);
                }
            }
            channel.force(true);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    static String writeDurably(byte[] bytes, Path target) throws IOException {
        return writeDurably(new java.io.ByteArrayInputStream(bytes), target);
    }

    /** Makes a directory's entries (a rename, a new file) durable; Linux needs the directory itself forced. */
    static void forceDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    /**
     * The regular files directly in {@code localDir}, by name, sorted; a manifest.json there is left out (the store
     * computes its own). A subdirectory is refused: an artifact is flat, and skipping it would silently drop data.
     */
    static Map<String, Path> artifactFiles(Path localDir) throws IOException {
        if (!Files.isDirectory(localDir)) {
            throw Files.exists(localDir) ? new NotDirectoryException(localDir.toString())
                    : new NoSuchFileException(localDir.toString(), null, "no such directory to store");
        }
        Map<String, Path> files = new TreeMap<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(localDir)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
                    throw new IOException(entry + ": an artifact holds files only, not directories");
                }
                if (!Files.isRegularFile(entry)) {
                    throw new IOException(entry + ": not a regular file");
                }
                if (!Manifest.FILE_NAME.equals(name)) {
                    Manifest.checkFileName(name);
                    files.put(name, entry);
                }
            }
        }
        if (files.isEmpty()) {
            throw new IOException(localDir + ": no files to store");
        }
        return files;
    }

    static void deleteQuietly(Path path) {
        try {
            PathUtils.delete(path);
        } catch (IOException ignored) {
            // Best effort: a leftover temp file or staging dir is hidden and harmless.
        }
    }
}
