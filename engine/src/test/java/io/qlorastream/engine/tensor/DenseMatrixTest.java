package io.qlorastream.engine.tensor;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DenseMatrixTest {

    private static ByteBuffer encode(float[] values, DType dtype) {
        ByteBuffer b = ByteBuffer.allocate(values.length * dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            switch (dtype) {
                case F32 -> b.putFloat(v);
                case BF16 -> b.putShort(Floats.floatToBf16(v));
                default -> b.putShort(Floats.floatToF16(v));
            }
        }
        return b.flip();
    }

    @Test
    void readsEachFloatDtypeInPlace() {
        float[] values = {1.5f, -2.25f, 0.125f, 3f, -0.5f, 8f}; // exact in every 16-bit format
        for (DType dtype : new DType[]{DType.F32, DType.F16, DType.BF16}) {
            DenseMatrix m = DenseMatrix.ofBytes(encode(values, dtype), dtype, 2, 3);
            assertThat(m.dtype()).isEqualTo(dtype);
            assertThat(m.get(1, 2)).isEqualTo(8f);
            float[] out = new float[8];
            m.dequantizeRows(1, 1, out, 2);
            assertThat(out).containsExactly(0, 0, 3f, -0.5f, 8f, 0, 0, 0);
            assertThat(m.residentBytes()).isEqualTo(6L * dtype.byteSize());
        }
    }

    @Test
    void rowChunksReadAcrossChunkBoundaries() {
        float[] values = new float[7 * 3];
        for (int i = 0; i < values.length; i++) {
            values[i] = i - 10;
        }
        ByteBuffer all = encode(values, DType.BF16);
        ByteBuffer[] chunks = new ByteBuffer[3];
        for (int c = 0; c < 3; c++) {
            int from = c * 3 * 3 * 2;
            int to = Math.min(all.capacity(), from + 3 * 3 * 2);
            chunks[c] = all.duplicate().position(from).limit(to).slice();
        }
        DenseMatrix m = DenseMatrix.ofChunks(chunks, 3, DType.BF16, 7, 3);
        float[] out = new float[5 * 3];
        m.dequantizeRows(1, 5, out, 0);
        for (int i = 0; i < out.length; i++) {
            assertThat(out[i]).isEqualTo(values[3 + i]);
        }
        assertThat(m.get(6, 2)).isEqualTo(values[20]);
        ByteBuffer raw = m.rawRows(2, 3); // spans two chunks: a copy
        assertThat(raw.remaining()).isEqualTo(3 * 3 * 2);
        assertThat(raw.getShort(0)).isEqualTo(all.getShort(2 * 3 * 2));
        assertThat(raw.getShort(3 * 3 * 2 - 2)).isEqualTo(all.getShort(5 * 3 * 2 - 2));
    }

    @Test
    void refusesNonFloatAndShortData() {
        assertThatThrownBy(() -> DenseMatrix.ofBytes(ByteBuffer.allocate(4), DType.I32, 1, 1))
                .hasMessageContaining("I32");
        assertThatThrownBy(() -> DenseMatrix.ofFloats(new float[5], 2, 3)).hasMessageContaining("[2, 3]");
    }
}
