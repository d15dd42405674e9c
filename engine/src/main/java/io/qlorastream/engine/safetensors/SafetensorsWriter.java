package io.qlorastream.engine.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.engine.tensor.DType;
import io.qlorastream.engine.tensor.Floats;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes a safetensors file as the reference implementation (Rust {@code safetensors.serialize}) lays it out:
 * tensors sorted by descending dtype then name, data offsets in that order, compact JSON header with
 * {@code __metadata__} first, padded with spaces to a multiple of 8 bytes. All tensors are declared up front (the
 * header comes first); data is then written tensor by tensor, in pieces if wanted, so a model never has to be in
 * memory at once. The file appears under its name only when {@link #close()} finds every byte written.
 */
public final class SafetensorsWriter implements AutoCloseable {
    /** A tensor to write. */
    public record Entry(String name, DType dtype, long[] shape) {
        public Entry {
            shape = shape.clone();
        }

        public long numel() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }

        public long byteLength() {
            return numel() * dtype.byteSize();
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path target;
    private final Path temp;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> layout;
    private final Map<String, Long> written = new HashMap<>();
    private boolean closed;

    private SafetensorsWriter(Path target, Path temp, FileChannel channel, long dataStart, Map<String, TensorInfo> layout) {
        this.target = target;
        this.temp = temp;
        this.channel = channel;
        this.dataStart = dataStart;
        this.layout = layout;
    }

    /** Starts {@code file} with these tensors and metadata (null or empty: no {@code __metadata__}). */
    public static SafetensorsWriter create(Path file, List<Entry> tensors, Map<String, String> metadata) throws IOException {
        List<Entry> sorted = new ArrayList<>(tensors);
        sorted.sort(Comparator.comparingInt((Entry e) -> -e.dtype().referenceOrder()).thenComparing(Entry::name));
        Map<String, Object> header = new LinkedHashMap<>();
        if (metadata != null && !metadata.isEmpty()) {
            header.put("__metadata__", new TreeMap<>(metadata));
        }
        Map<String, TensorInfo> layout = new LinkedHashMap<>();
        long offset = 0;
        for (Entry e : sorted) {
            if (e.name().equals("__metadata__") || layout.containsKey(e.name())) {
                throw new IllegalArgumentException("duplicate or reserved tensor name " + e.name());
            }
            long end = offset + e.byteLength();
            layout.put(e.name(), new TensorInfo(e.name(), e.dtype(), e.shape(), offset, end));
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("dtype", e.dtype().safetensorsName());
            t.put("shape", e.shape());
            t.put("data_offsets", new long[]{offset, end});
            header.put(e.name(), t);
            offset = end;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path temp = dir.resolve(file.getFileName() + ".partial");
        FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        try {
            while (head.hasRemaining()) {
                ch.write(head);
            }
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        return new SafetensorsWriter(file, temp, ch, 8L + padded, layout);
    }

    /** Tensor names in the order their data lies in the file. */
    public List<String> dataOrder() {
        return List.copyOf(layout.keySet());
    }

    public TensorInfo info(String name) {
        TensorInfo t = layout.get(name);
        if (t == null) {
            throw new IllegalArgumentException("tensor " + name + " was not declared for " + target);
        }
        return t;
    }

    /** Writes raw little-endian bytes of a tensor starting {@code byteOffset} bytes into it. */
    public void write(String name, long byteOffset, ByteBuffer bytes) throws IOException {
        TensorInfo t = info(name);
        int n = bytes.remaining();
        if (byteOffset < 0 || byteOffset + n > t.byteLength()) {
            throw new IllegalArgumentException("bytes [" + byteOffset + ", " + (byteOffset + n) + ") outside tensor " + name
                    + " (" + t.byteLength() + " bytes)");
        }
        long pos = dataStart + t.begin() + byteOffset;
        while (bytes.hasRemaining()) {
            pos += channel.write(bytes, pos);
        }
        written.merge(name, (long) n, Long::sum);
    }

    public void writeBytes(String name, byte[] data) throws IOException {
        write(name, 0, ByteBuffer.wrap(data));
    }

    /** Writes all of a float tensor, converted to its dtype (F32, F16 or BF16, round to nearest even). */
    public void writeFloats(String name, float[] data) throws IOException {
        writeFloats(name, 0, data, 0, data.length);
    }

    /** Writes {@code len} elements of a float tensor starting at element {@code firstElement}, converted to its dtype. */
    public void writeFloats(String name, long firstElement, float[] src, int off, int len) throws IOException {
        DType dtype = info(name).dtype();
        if (!dtype.isFloat()) {
            throw new IllegalArgumentException("tensor " + name + " has dtype " + dtype + ", not a float type");
        }
        int size = dtype.byteSize();
        int chunk = 1 << 18;
        ByteBuffer buf = ByteBuffer.allocate(Math.min(len, chunk) * size).order(ByteOrder.LITTLE_ENDIAN);
        for (int done = 0; done < len; ) {
            int n = Math.min(chunk, len - done);
            buf.clear();
            switch (dtype) {
                case F32 -> buf.asFloatBuffer().put(src, off + done, n);
                case BF16 -> {
                    for (int i = 0; i < n; i++) {
                        buf.putShort(i * 2, Floats.floatToBf16(src[off + done + i]));
                    }
                }
                default -> {
                    for (int i = 0; i < n; i++) {
                        buf.putShort(i * 2, Floats.floatToF16(src[off + done + i]));
                    }
                }
            }
            buf.limit(n * size);
            write(name, (firstElement + done) * size, buf);
            done += n;
        }
    }

    /** Finishes the file; a tensor not fully written is an IOException naming it (and no file is left). */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try (channel) {
            for (TensorInfo t : layout.values()) {
                long w = written.getOrDefault(t.name(), 0L);
                if (w != t.byteLength()) {
                    throw new IOException("tensor " + t.name() + " of " + target + ": " + w + " of " + t.byteLength() + " bytes written");
                }
            }
        } catch (IOException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Drops the partial file without writing the target. */
    public void abort() throws IOException {
        if (!closed) {
            closed = true;
            channel.close();
            Files.deleteIfExists(temp);
        }
    }

    @Override
    public String toString() {
        return "SafetensorsWriter[" + target + ", " + Arrays.toString(layout.keySet().toArray()) + "]";
    }
}
