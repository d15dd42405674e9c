package io.qlorastream.engine.tensor;

/**
 * A frozen 2-D weight [rows, cols] in row-major order (a Linear weight is [out_features, in_features]), stored in
 * whatever form saves memory (NF4, BF16, F32...). Compute never sees the whole matrix at full precision: it asks
 * for a range of rows, dequantized into its own scratch buffer.
 */
public interface WeightMatrix {
    int rows();

    int cols();

    /**
     * Writes rows {@code [rowStart, rowStart + rowCount)} as float32, row-major, into {@code out} starting at
     * {@code outOffset} ({@code rowCount * cols()} values). Safe to call from several threads at once.
     */
    void dequantizeRows(int rowStart, int rowCount, float[] out, int outOffset);

    /** Bytes this weight keeps resident (packed data, scales, tables), for memory accounting. */
    long residentBytes();
}
