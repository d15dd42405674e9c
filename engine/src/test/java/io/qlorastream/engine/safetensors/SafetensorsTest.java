package io.qlorastream.engine.safetensors;

import io.qlorastream.engine.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SafetensorsTest {
    @TempDir
    Path dir;

    /** Writes a safetensors file from a header string and data bytes, by hand (no writer involved). */
    private Path handMade(String name, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Path f = dir.resolve(name);
        Files.write(f, b.array());
        return f;
    }

    @Test
    void writerLaysOutTheFileAsTheReferenceImplementation() throws IOException {
        Path f = dir.resolve("w.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(f, List.of(
                new SafetensorsWriter.Entry("b", DType.U8, new long[]{3}),
                new SafetensorsWriter.Entry("c", DType.BF16, new long[]{1}),
                new SafetensorsWriter.Entry("a", DType.F32, new long[]{2, 2})), Map.of("format", "pt"))) {
            assertThat(w.dataOrder()).containsExactly("a", "c", "b"); // descending dtype, then name
            w.writeBytes("b", new byte[]{7, 8, 9});
            w.writeFloats("a", new float[]{1, 2, 3, 4});
            w.writeFloats("c", new float[]{-2f});
        }
        byte[] bytes = Files.readAllBytes(f);
        String expected = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                + "\"c\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[16,18]},"
                + "\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[18,21]}}";
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertThat(n % 8).isZero();
        assertThat(n).isEqualTo((expected.length() + 7) / 8 * 8);
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        assertThat(header).isEqualTo(expected + " ".repeat((int) n - expected.length()));
        ByteBuffer data = ByteBuffer.wrap(bytes, 8 + (int) n, 21).slice().order(ByteOrder.LITTLE_ENDIAN);
        assertThat(data.getFloat(12)).isEqualTo(4f);
        assertThat(data.getShort(16)).isEqualTo((short) 0xc000);
        assertThat(data.get(20)).isEqualTo((byte) 9);
        assertThat(bytes).hasSize(8 + (int) n + 21);

        try (SafetensorsFile r = SafetensorsFile.open(f)) {
            assertThat(r.metadata()).containsExactly(Map.entry("format", "pt"));
            assertThat(r.names()).containsExactly("a", "c", "b");
            assertThat(r.readFloats("a")).containsExactly(1, 2, 3, 4);
            assertThat(r.readFloats("c")).containsExactly(-2f);
            assertThat(r.readBytes("b")).containsExactly(7, 8, 9);
        }
    }

    @Test
    void readsHandMadeFilesOfEveryDtype() throws IOException {
        ByteBuffer d = ByteBuffer.allocate(8 + 4 + 2 + 2 + 1 + 1 + 4 + 1).order(ByteOrder.LITTLE_ENDIAN);
        d.putLong(-5L).putFloat(0.5f).putShort((short) 0x3c00).putShort((short) 0xbf80).put((byte) 200).put((byte) -3)
                .putInt(123456).put((byte) 1);
        String header = "{\"i64\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
                + "\"f32\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[8,12]},"
                + "\"f16\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[12,14]},"
                + "\"bf16\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[14,16]},"
                + "\"u8\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[16,17]},"
                + "\"i8\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[17,18]},"
                + "\"i32\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[18,22]},"
                + "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[22,22]},"
                + "\"flag\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[22,23]}}";
        Path f = handMade("all.safetensors", header, d.array());
        try (SafetensorsFile r = SafetensorsFile.open(f)) {
            assertThat(r.metadata()).isEmpty();
            assertThat(r.info("i64").shape()).isEmpty();
            assertThat(r.info("i64").numel()).isEqualTo(1);
            assertThat(r.map("i64").getLong(0)).isEqualTo(-5L);
            assertThat(r.readFloats("f32")).containsExactly(0.5f);
            assertThat(r.readFloats("f16")).containsExactly(1.0f);
            assertThat(r.readFloats("bf16")).containsExactly(-1.0f);
            assertThat(r.readBytes("u8")[0] & 0xff).isEqualTo(200);
            assertThat(r.info("i8").dtype()).isEqualTo(DType.I8);
            assertThat(r.map("i32").getInt(0)).isEqualTo(123456);
            assertThat(r.readFloats("empty")).isEmpty();
            assertThat(r.readBytes("flag")).containsExactly(1);
            assertThatThrownBy(() -> r.info("nope")).hasMessage("missing tensor nope in " + f);
            assertThatThrownBy(() -> r.readFloats("u8")).hasMessageContaining("u8").hasMessageContaining("U8");
        }
    }

    @Test
    void malformedFilesAreOneLineErrorsNamingTheProblem() throws IOException {
        Path f64 = handMade("f64.safetensors", "{\"w\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", new byte[8]);
        assertThatThrownBy(() -> SafetensorsFile.open(f64)).isInstanceOf(IOException.class)
                .hasMessageContaining("tensor w in " + f64).hasMessageContaining("unsupported dtype F64");
        Path shortData = handMade("short.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", new byte[8]);
        assertThatThrownBy(() -> SafetensorsFile.open(shortData)).hasMessageContaining("tensor w").hasMessageContaining("outside the data section");
        Path wrongSize = handMade("size.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]);
        assertThatThrownBy(() -> SafetensorsFile.open(wrongSize)).hasMessageContaining("needs 12");
        Path notJson = handMade("bad.safetensors", "{nope", new byte[0]);
        assertThatThrownBy(() -> SafetensorsFile.open(notJson)).hasMessageContaining("not valid JSON");
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[]{1, 2, 3});
        assertThatThrownBy(() -> SafetensorsFile.open(tiny)).hasMessageContaining("not a safetensors file");
        Path hugeHeader = dir.resolve("huge.safetensors");
        Files.write(hugeHeader, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array());
        assertThatThrownBy(() -> SafetensorsFile.open(hugeHeader)).hasMessageContaining("invalid safetensors header length");
    }

    @Test
    void tensorsBeyondTwoGibibytesAreMappedOneByOne() throws IOException {
        long big = 3L << 30; // a 3 GiB U8 tensor; the file is sparse, so nothing is written to disk
        String header = "{\"big\":{\"dtype\":\"U8\",\"shape\":[" + big + "],\"data_offsets\":[0," + big + "]},"
                + "\"after\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" + big + "," + (big + 8) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path f = dir.resolve("sparse.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            ByteBuffer head = ByteBuffer.allocate(8 + h.length).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h);
            raf.write(head.array());
            raf.seek(8 + h.length + big - 1);
            raf.write(42);
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-3f).array());
        }
        try (SafetensorsFile r = SafetensorsFile.open(f)) {
            assertThat(r.map("after").getFloat(4)).isEqualTo(-3f);
            assertThat(r.readFloats("after")).containsExactly(1.5f, -3f);
            TensorInfo t = r.info("big");
            assertThatThrownBy(() -> r.map("big")).hasMessageContaining("too large for one mapping");
            ByteBuffer tail = r.map(t, big - 16, 16); // a piece of the big tensor past 2 GiB
            assertThat(tail.get(15)).isEqualTo((byte) 42);
            assertThat(tail.get(0)).isZero();
        }
    }

    @Test
    void shardedCheckpointsFollowTheIndex() throws IOException {
        for (int s = 1; s <= 2; s++) {
            try (SafetensorsWriter w = SafetensorsWriter.create(dir.resolve("model-0000" + s + "-of-00002.safetensors"),
                    List.of(new SafetensorsWriter.Entry("t" + s, DType.F32, new long[]{1})), Map.of("format", "pt"))) {
                w.writeFloats("t" + s, new float[]{s * 10f});
            }
        }
        Files.writeString(dir.resolve(SafetensorsCheckpoint.INDEX_FILE), "{\"metadata\":{\"total_size\":8},\"weight_map\":{"
                + "\"t1\":\"model-00001-of-00002.safetensors\",\"t2\":\"model-00002-of-00002.safetensors\"}}");
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            assertThat(c.files()).hasSize(2);
            assertThat(c.names()).containsExactly("t1", "t2");
            assertThat(c.fileOf("t2").readFloats("t2")).containsExactly(20f);
            assertThatThrownBy(() -> c.fileOf("t3")).hasMessageContaining("missing tensor t3")
                    .hasMessageContaining(SafetensorsCheckpoint.INDEX_FILE);
        }
        Files.writeString(dir.resolve(SafetensorsCheckpoint.INDEX_FILE), "{\"weight_map\":{\"t9\":\"model-00001-of-00002.safetensors\"}}");
        assertThatThrownBy(() -> SafetensorsCheckpoint.open(dir)).hasMessageContaining("missing tensor t9");
    }

    @Test
    void unfinishedWritesLeaveNoFile() throws IOException {
        Path f = dir.resolve("partial.safetensors");
        SafetensorsWriter w = SafetensorsWriter.create(f, List.of(new SafetensorsWriter.Entry("x", DType.F32, new long[]{4})), null);
        w.writeFloats("x", 0, new float[]{1, 2}, 0, 2);
        assertThatThrownBy(w::close).hasMessageContaining("tensor x").hasMessageContaining("8 of 16 bytes");
        assertThat(f).doesNotExist();
        assertThat(dir.resolve("partial.safetensors.partial")).doesNotExist();
    }
}
