package io.qlorastream.engine.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.engine.tensor.DType;
import io.qlorastream.engine.tensor.Floats;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file, parsed by hand (the format is a u64 little-endian header length, a JSON header, then the
 * data; no Java library reads it): tensors are memory-mapped one at a time, so files far above 2 GiB work and
 * only the tensors in use are mapped, or read into the heap through positional reads.
 */
public final class SafetensorsFile implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Larger headers are refused (the reference implementation's limit is 100 MB). */
    private static final long MAX_HEADER = 100L * 1024 * 1024;
    /** Mapped pieces of one tensor stay under this size (a Java buffer addresses at most 2 GiB − 1). */
    static final long MAX_MAPPING = 1L << 30;

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, Map<String, TensorInfo> tensors,
                            Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Opens and validates {@code file}; a malformed header is an IOException naming the file and the problem. */
    public static SafetensorsFile open(Path file) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            long size = ch.size();
            if (size < 8) {
                throw new IOException(file + ": not a safetensors file (" + size + " bytes)");
            }
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, len, 0, file);
            long headerLength = len.getLong(0);
            if (headerLength < 2 || headerLength > MAX_HEADER || 8 + headerLength > size) {
                throw new IOException(file + ": invalid safetensors header length " + headerLength + " (file has " + size + " bytes)");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLength);
            readFully(ch, header, 8, file);
            String json = new String(header.array(), StandardCharsets.UTF_8);
            long dataStart = 8 + headerLength;
            long dataSize = size - dataStart;
            JsonNode root;
            try {
                root = JSON.readTree(json);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IOException(file + ": safetensors header is not valid JSON: " + e.getOriginalMessage());
            }
            if (root == null || !root.isObject()) {
                throw new IOException(file + ": safetensors header is not a JSON object");
            }
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String name = e.getKey();
                JsonNode t = e.getValue();
                if (name.equals("__metadata__")) {
                    if (!t.isObject()) {
                        throw new IOException(file + ": __metadata__ must be an object of strings");
                    }
                    t.fields().forEachRemaining(m -> {
                        if (!m.getValue().isTextual()) {
                            throw new IllegalArgumentException(file + ": __metadata__ value of \"" + m.getKey() + "\" is not a string");
                        }
                        metadata.put(m.getKey(), m.getValue().asText());
                    });
                    continue;
                }
                tensors.put(name, parseTensor(file, name, t, dataSize));
            }
            return new SafetensorsFile(file, ch, dataStart, Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
        } catch (IOException | RuntimeException e) {
            ch.close();
            if (e instanceof IllegalArgumentException) {
                throw new IOException(e.getMessage(), e);
            }
            throw e;
        }
    }

    private static TensorInfo parseTensor(Path file, String name, JsonNode t, long dataSize) throws IOException {
        String where = "tensor " + name + " in " + file;
        JsonNode dt = t.get("dtype");
        JsonNode shapeNode = t.get("shape");
        JsonNode offsets = t.get("data_offsets");
        if (dt == null || !dt.isTextual() || shapeNode == null || !shapeNode.isArray() || offsets == null
                || !offsets.isArray() || offsets.size() != 2) {
            throw new IOException(where + ": header entry needs dtype, shape and data_offsets [begin, end]");
        }
        DType dtype;
        try {
            dtype = DType.parse(dt.asText());
        } catch (IllegalArgumentException e) {
            throw new IOException(where + ": " + e.getMessage());
        }
        long[] shape = new long[shapeNode.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.canConvertToLong() || d.asLong() < 0) {
                throw new IOException(where + ": invalid shape " + shapeNode);
            }
            shape[i] = d.asLong();
            numel = Math.multiplyExact(numel, shape[i]);
        }
        long begin = offsets.get(0).asLong(-1);
        long end = offsets.get(1).asLong(-1);
        if (begin < 0 || end < begin || end > dataSize) {
            throw new IOException(where + ": data_offsets " + offsets + " outside the data section (" + dataSize + " bytes)");
        }
        if (end - begin != numel * dtype.byteSize()) {
            throw new IOException(where + ": data_offsets " + offsets + " hold " + (end - begin) + " bytes, shape "
                    + shapeNode + " of " + dtype + " needs " + numel * dtype.byteSize());
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    public Path path() {
        return path;
    }

    /** The header's {@code __metadata__} (empty when absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Tensor names in header order. */
    public List<String> names() {
        return List.copyOf(tensors.keySet());
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** The tensor called {@code name}; a missing one is an IOException naming it and this file. */
    public TensorInfo info(String name) throws IOException {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw new IOException("missing tensor " + name + " in " + path);
        }
        return t;
    }

    /** Absolute file offset of a tensor's first byte. */
    public long fileOffset(TensorInfo t) {
        return dataStart + t.begin();
    }

    /**
     * Maps {@code length} bytes of a tensor starting {@code offset} bytes into it, read-only, little-endian
     * (length at most 2 GiB − 1).
     */
    public ByteBuffer map(TensorInfo t, long offset, long length) throws IOException {
        if (offset < 0 || length < 0 || offset + length > t.byteLength() || length > Integer.MAX_VALUE) {
            throw new IOException("cannot map bytes [" + offset + ", " + (offset + length) + ") of tensor " + t.name() + " in " + path);
        }
        if (length == 0) {
            return ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN);
        }
        return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin() + offset, length).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Maps a whole tensor (at most 2 GiB − 1 bytes; larger ones go through {@link #map(TensorInfo, long, long)}). */
    public ByteBuffer map(String name) throws IOException {
        TensorInfo t = info(name);
        if (t.byteLength() > Integer.MAX_VALUE) {
            throw new IOException("tensor " + name + " in " + path + " has " + t.byteLength() + " bytes, too large for one mapping");
        }
        return map(t, 0, t.byteLength());
    }

    /** Reads {@code dst.remaining()} bytes of a tensor starting {@code offset} bytes into it (no mapping). */
    public void read(TensorInfo t, long offset, ByteBuffer dst) throws IOException {
        if (offset < 0 || offset + dst.remaining() > t.byteLength()) {
            throw new IOException("cannot read bytes [" + offset + ", " + (offset + dst.remaining()) + ") of tensor " + t.name() + " in " + path);
        }
        readFully(channel, dst, dataStart + t.begin() + offset, path);
    }

    /** The raw bytes of a tensor (at most 2 GiB − 1). */
    public byte[] readBytes(String name) throws IOException {
        TensorInfo t = info(name);
        if (t.byteLength() > Integer.MAX_VALUE - 8) {
            throw new IOException("tensor " + name + " in " + path + " is too large to read into one array");
        }
        byte[] out = new byte[(int) t.byteLength()];
        read(t, 0, ByteBuffer.wrap(out));
        return out;
    }

    /** A float tensor (F32, F16 or BF16) as float32, all elements in row-major order. */
    public float[] readFloats(String name) throws IOException {
        TensorInfo t = info(name);
        if (t.numel() > Integer.MAX_VALUE - 8) {
            throw new IOException("tensor " + name + " in " + path + " is too large to read into one array");
        }
        float[] out = new float[(int) t.numel()];
        readFloats(t, 0, out, 0, out.length);
        return out;
    }

    /**
     * Reads {@code count} elements of a float tensor starting at element {@code first}, converted to float32 into
     * {@code out[outOffset..]}, through a bounded buffer (the file is never mapped: loading a model this way adds
     * nothing to the resident set but the output array). The buffer is on the heap: the channel reads through the
     * JDK's per-thread cached direct buffer, whereas a direct buffer per call stays allocated native memory until a
     * GC happens to collect it (tens of MB while a model loads).
     */
    public void readFloats(TensorInfo t, long first, float[] out, int outOffset, int count) throws IOException {
        DType dtype = t.dtype();
        if (!dtype.isFloat()) {
            throw new IOException("tensor " + t.name() + " in " + path + " has dtype " + dtype + ", expected F32, F16 or BF16");
        }
        if (first < 0 || first + count > t.numel()) {
            throw new IOException("cannot read elements [" + first + ", " + (first + count) + ") of tensor " + t.name() + " in " + path);
        }
        int size = dtype.byteSize();
        int chunkElems = (1 << 20) / size;
        ByteBuffer buf = ByteBuffer.allocate(Math.min(count, chunkElems) * size + 1).order(ByteOrder.LITTLE_ENDIAN);
        int done = 0;
        while (done < count) {
            int n = Math.min(chunkElems, count - done);
            buf.clear().limit(n * size);
            read(t, (first + done) * size, buf);
            buf.flip();
            int o = outOffset + done;
            switch (dtype) {
                case F32 -> buf.asFloatBuffer().get(out, o, n);
                case BF16 -> {
                    for (int i = 0; i < n; i++) {
                        out[o + i] = Float.intBitsToFloat(buf.getShort(i * 2) << 16);
                    }
                }
                default -> {
                    for (int i = 0; i < n; i++) {
                        out[o + i] = Floats.f16ToFloat(buf.getShort(i * 2));
                    }
                }
            }
            done += n;
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long position, Path file) throws IOException {
        long pos = position;
        while (dst.hasRemaining()) {
            int n = ch.read(dst, pos);
            if (n < 0) {
                throw new EOFException(file + ": unexpected end of file at byte " + pos);
            }
            pos += n;
        }
    }

    /** Closes the file. Buffers already mapped stay valid until they are garbage collected (Java cannot unmap). */
    @Override
    public void close() throws IOException {
        channel.close();
    }
}
