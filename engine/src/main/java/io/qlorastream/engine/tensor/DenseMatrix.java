package io.qlorastream.engine.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * A frozen dense weight kept in its checkpoint dtype (F32/F16/BF16), e.g. embeddings and lm_head: either a float[]
 * on the heap or the bytes of a memory-mapped safetensors file, read in place. A tensor larger than one mapping can
 * address (2 GiB) is held as several row-aligned chunks.
 */
public final class DenseMatrix implements WeightMatrix {
    private final int rows;
    private final int cols;
    private final DType dtype;
    private final float[] floats;        // heap F32 data, or null
    private final ByteBuffer[] chunks;   // little-endian views over the tensor's bytes, or null
    private final int rowsPerChunk;

    private DenseMatrix(int rows, int cols, DType dtype, float[] floats, ByteBuffer[] chunks, int rowsPerChunk) {
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException("negative shape [" + rows + ", " + cols + "]");
        }
        this.rows = rows;
        this.cols = cols;
        this.dtype = dtype;
        this.floats = floats;
        this.chunks = chunks;
        this.rowsPerChunk = rowsPerChunk;
    }

    /** An F32 matrix over {@code data} (row-major, at least rows × cols values; not copied). */
    public static DenseMatrix ofFloats(float[] data, int rows, int cols) {
        if ((long) rows * cols > data.length) {
            throw new IllegalArgumentException("float[" + data.length + "] is smaller than [" + rows + ", " + cols + "]");
        }
        return new DenseMatrix(rows, cols, DType.F32, data, null, 0);
    }

    /**
     * A matrix over raw little-endian bytes of dtype F32, F16 or BF16 between the buffer's position and limit (e.g.
     * a mapped tensor; not copied).
     */
    public static DenseMatrix ofBytes(ByteBuffer data, DType dtype, int rows, int cols) {
        return ofChunks(new ByteBuffer[]{data}, rows == 0 ? 1 : rows, dtype, rows, cols);
    }

    /**
     * A matrix over row-aligned chunks: chunk c holds rows [c·rowsPerChunk, (c+1)·rowsPerChunk), the last one
     * possibly fewer. Used for tensors above 2 GiB, which no single buffer can address.
     */
    public static DenseMatrix ofChunks(ByteBuffer[] chunks, int rowsPerChunk, DType dtype, int rows, int cols) {
        if (!dtype.isFloat()) {
            throw new IllegalArgumentException("a dense matrix holds F32, F16 or BF16, not " + dtype);
        }
        ByteBuffer[] views = new ByteBuffer[chunks.length];
        long covered = 0;
        for (int c = 0; c < chunks.length; c++) {
            views[c] = chunks[c].slice().order(ByteOrder.LITTLE_ENDIAN); // from the buffer's position to its limit
            covered += views[c].capacity() / ((long) cols * dtype.byteSize() == 0 ? 1 : (long) cols * dtype.byteSize());
        }
        if (cols > 0 && covered < rows) {
            throw new IllegalArgumentException("buffers hold " + covered + " rows of " + cols + " " + dtype + ", need " + rows);
        }
        return new DenseMatrix(rows, cols, dtype, null, views, rowsPerChunk);
    }

    public DType dtype() {
        return dtype;
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    public float get(int row, int col) {
        Objects.checkIndex(row, rows);
        Objects.checkIndex(col, cols);
        if (floats != null) {
            return floats[row * cols + col];
        }
        ByteBuffer b = chunks[row / rowsPerChunk];
        int pos = ((row % rowsPerChunk) * cols + col) * dtype.byteSize();
        return switch (dtype) {
            case F32 -> b.getFloat(pos);
            case BF16 -> Floats.bf16ToFloat(b.getShort(pos));
            default -> Floats.f16ToFloat(b.getShort(pos));
        };
    }

    @Override
    public void dequantizeRows(int rowStart, int rowCount, float[] out, int outOffset) {
        Objects.checkFromIndexSize(rowStart, rowCount, rows);
        if (floats != null) {
            System.arraycopy(floats, rowStart * cols, out, outOffset, rowCount * cols);
            return;
        }
        int o = outOffset;
        int row = rowStart;
        int end = rowStart + rowCount;
        while (row < end) {
            int c = row / rowsPerChunk;
            int inChunk = row - c * rowsPerChunk;
            int n = Math.min(end, (c + 1) * rowsPerChunk) - row;
            convert(chunks[c], inChunk * cols, n * cols, out, o);
            o += n * cols;
            row += n;
        }
    }

    private void convert(ByteBuffer b, int first, int count, float[] out, int o) {
        switch (dtype) {
            case F32 -> {
                for (int i = 0, pos = first * 4; i < count; i++, pos += 4) {
                    out[o + i] = b.getFloat(pos);
                }
            }
            case BF16 -> {
                for (int i = 0, pos = first * 2; i < count; i++, pos += 2) {
                    out[o + i] = Float.intBitsToFloat(b.getShort(pos) << 16);
                }
            }
            default -> {
                for (int i = 0, pos = first * 2; i < count; i++, pos += 2) {
                    out[o + i] = Floats.f16ToFloat(b.getShort(pos));
                }
            }
        }
    }

    /**
     * The stored bytes of rows [rowStart, rowStart + rowCount) in {@link #dtype()}, little-endian (a view when the
     * rows lie in one chunk, else a copy). Used to write a tensor back byte for byte.
     */
    public ByteBuffer rawRows(int rowStart, int rowCount) {
        Objects.checkFromIndexSize(rowStart, rowCount, rows);
        int rowBytes = cols * dtype.byteSize();
        if (floats != null) {
            ByteBuffer b = ByteBuffer.allocate(rowCount * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(floats, rowStart * cols, rowCount * cols);
            return b;
        }
        int c = rowStart / rowsPerChunk;
        if ((rowStart + rowCount - 1) / rowsPerChunk == c || rowCount == 0) {
            int from = (rowStart - c * rowsPerChunk) * rowBytes;
            return chunks[c].duplicate().position(from).limit(from + rowCount * rowBytes).slice().order(ByteOrder.LITTLE_ENDIAN);
        }
        ByteBuffer copy = ByteBuffer.allocate(rowCount * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int r = rowStart; r < rowStart + rowCount; ) {
            int cc = r / rowsPerChunk;
            int n = Math.min(rowStart + rowCount, (cc + 1) * rowsPerChunk) - r;
            int from = (r - cc * rowsPerChunk) * rowBytes;
            copy.put(chunks[cc].duplicate().position(from).limit(from + n * rowBytes));
            r += n;
        }
        return copy.flip();
    }

    /** rows × cols × the dtype's size: the data this matrix reads (mapped file pages or the float[]). */
    @Override
    public long residentBytes() {
        return (long) rows * cols * dtype.byteSize();
    }
}
