package io.qlorastream.engine.quant;

import io.qlorastream.engine.tensor.WeightMatrix;

import java.util.Arrays;
import java.util.Objects;
import java.util.stream.IntStream;

/**
 * bitsandbytes NF4 (blocksize 64 by default, optional double quant of absmax), byte for byte as bitsandbytes
 * stores it: the [rows, cols] weight is flattened row-major and cut in blocks; each block keeps a float32
 * {@code absmax = max|x|}; each {@code x · (1/absmax)} becomes the index of the nearest of the 16 NF4 codes
 * (bitsandbytes' decision tree: strict {@code >} against the mid-points); element 2i goes in the HIGH nibble of
 * byte i, element 2i+1 in the low one; an odd count is padded with the value 0.0 (its nibble is then code 7, the
 * NF4 zero, or 0 in an all-zero block, exactly what bitsandbytes' kernel stores). With double quantization the stored absmax is
 * {@code absmax − mean(absmax)}, quantized per 256 values with the signed 8-bit {@link DynamicMap} and one float32
 * nested absmax per 256 block. Accessors return the internal arrays (for serialization): do not modify them.
 */
public final class Nf4Tensor implements WeightMatrix {
    /** The 16 NF4 code values of bitsandbytes, index 0..15. */
    private static final float[] NF4 = {
            -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f,
            -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,
            0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
            0.7229568362236023f, 1.0f};
    /** bitsandbytes' dQuantizeNF4 thresholds (mid-points of adjacent codes, as float literals in its kernels). */
    private static final float[] NF4_THRESHOLDS = {
            -0.8480964004993439f, -0.6106329262256622f, -0.4599952697753906f, -0.33967943489551544f,
            -0.23460740596055984f, -0.13791173323988914f, -0.045525018125772476f, 0.03979014977812767f,
            0.1202552504837513f, 0.2035212516784668f, 0.2920137718319893f, 0.3893125355243683f,
            0.5016634166240692f, 0.6427869200706482f, 0.8614784181118011f};
    private static final float[] NF4_HIGH = highTable(NF4);
    private static final float[] NF4_LOW = lowTable(NF4);

    public static final int DEFAULT_BLOCK_SIZE = 64;
    public static final int NESTED_BLOCK_SIZE = 256;

    private final int rows;
    private final int cols;
    private final int blockSize;
    private final byte[] packed;
    private final float[] quantMap;
    private final float[] high;            // code value of a byte's high nibble, per byte value
    private final float[] low;             // code value of a byte's low nibble, per byte value
    private final boolean sharedTables;    // quantMap is the standard NF4 map: tables are not this tensor's own
    // plain absmax (no double quant)
    private final float[] absmax;
    // double quant
    private final byte[] quantizedAbsmax;
    private final float[] nestedAbsmax;
    private final float[] nestedQuantMap;
    private final float nestedOffset;
    private final int nestedBlockSize;
    private final boolean sharedNestedMap;

    private Nf4Tensor(int rows, int cols, int blockSize, byte[] packed, float[] quantMap, float[] absmax,
                      byte[] quantizedAbsmax, float[] nestedAbsmax, float[] nestedQuantMap, float nestedOffset,
                      int nestedBlockSize) {
        if (rows < 0 || cols < 0 || (long) rows * cols > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("unsupported NF4 shape [" + rows + ", " + cols + "]");
        }
        if (blockSize <= 0 || (blockSize & 1) != 0) {
            throw new IllegalArgumentException("NF4 block size must be positive and even, got " + blockSize);
        }
        int n = rows * cols;
        int blocks = ceilDiv(n, blockSize);
        if (packed.length != (n + 1) / 2) {
            throw new IllegalArgumentException("packed NF4 data has " + packed.length + " bytes, expected " + (n + 1) / 2
                    + " for shape [" + rows + ", " + cols + "]");
        }
        if (quantMap.length != 16) {
            throw new IllegalArgumentException("NF4 quant_map has " + quantMap.length + " values, expected 16");
        }
        this.rows = rows;
        this.cols = cols;
        this.blockSize = blockSize;
        this.packed = packed;
        this.sharedTables = Arrays.equals(quantMap, NF4);
        this.quantMap = sharedTables ? NF4 : quantMap;
        this.high = sharedTables ? NF4_HIGH : highTable(quantMap);
        this.low = sharedTables ? NF4_LOW : lowTable(quantMap);
        this.absmax = absmax;
        this.quantizedAbsmax = quantizedAbsmax;
        this.nestedOffset = nestedOffset;
        this.nestedBlockSize = nestedBlockSize;
        this.nestedAbsmax = nestedAbsmax;
        if (quantizedAbsmax == null) {
            Objects.requireNonNull(absmax, "absmax");
            if (absmax.length != blocks) {
                throw new IllegalArgumentException("absmax has " + absmax.length + " values, expected " + blocks);
            }
            this.nestedQuantMap = null;
            this.sharedNestedMap = false;
        } else {
            if (quantizedAbsmax.length != blocks) {
                throw new IllegalArgumentException("quantized absmax has " + quantizedAbsmax.length + " values, expected " + blocks);
            }
            if (nestedBlockSize <= 0 || nestedAbsmax.length != ceilDiv(blocks, nestedBlockSize)) {
                throw new IllegalArgumentException("nested absmax has " + nestedAbsmax.length + " values, expected "
                        + ceilDiv(blocks, Math.max(1, nestedBlockSize)));
            }
            if (nestedQuantMap.length != 256) {
                throw new IllegalArgumentException("nested quant_map has " + nestedQuantMap.length + " values, expected 256");
            }
            this.sharedNestedMap = Arrays.equals(nestedQuantMap, DynamicMap.signedShared());
            this.nestedQuantMap = sharedNestedMap ? DynamicMap.signedShared() : nestedQuantMap;
        }
    }

    /** A copy of the 16 NF4 code values. */
    public static float[] nf4Code() {
        return NF4.clone();
    }

    /** The NF4 index bitsandbytes gives a normalized value {@code x} (NaN → 0, as its decision tree does). */
    public static int nf4Index(float x) {
        int q = 0;
        for (float t : NF4_THRESHOLDS) {
            q += x > t ? 1 : 0;
        }
        return q;
    }

    /**
     * Quantizes the first rows × cols values of {@code weights} (row-major [rows, cols]; the array may be longer,
     * e.g. a reused scratch buffer).
     */
    public static Nf4Tensor quantize(float[] weights, int rows, int cols, int blockSize, boolean doubleQuant) {
        long size = (long) rows * cols;
        if (size > weights.length || size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("cannot quantize [" + rows + ", " + cols + "] from float[" + weights.length + "]");
        }
        if (blockSize <= 0 || (blockSize & 1) != 0) {
            throw new IllegalArgumentException("NF4 block size must be positive and even, got " + blockSize);
        }
        int n = (int) size;
        int blocks = ceilDiv(n, blockSize);
        float[] absmax = new float[blocks];
        byte[] packed = new byte[(n + 1) / 2];
        // Blocks are independent and even-sized, so they never share a packed byte: quantize ranges in parallel.
        int blocksPerTask = Math.max(1, (1 << 16) / blockSize);
        int tasks = ceilDiv(blocks, blocksPerTask);
        IntStream.range(0, tasks).parallel().forEach(task -> {
            int last = Math.min(blocks, (task + 1) * blocksPerTask);
            for (int b = task * blocksPerTask; b < last; b++) {
                quantizeBlock(weights, b * blockSize, Math.min(n, b * blockSize + blockSize), absmax, b, packed);
            }
        });
        if (!doubleQuant) {
            return new Nf4Tensor(rows, cols, blockSize, packed, NF4, absmax, null, null, null, 0f, 0);
        }
        double sum = 0;
        for (float a : absmax) {
            sum += a;
        }
        float offset = blocks == 0 ? 0f : (float) (sum / blocks);
        float[] code = DynamicMap.signedShared();
        int nestedBlocks = ceilDiv(blocks, NESTED_BLOCK_SIZE);
        float[] nested = new float[nestedBlocks];
        byte[] q = new byte[blocks];
        for (int nb = 0; nb < nestedBlocks; nb++) {
            int start = nb * NESTED_BLOCK_SIZE;
            int end = Math.min(blocks, start + NESTED_BLOCK_SIZE);
            float max = 0f;
            for (int i = start; i < end; i++) {
                max = Math.max(max, Math.abs(absmax[i] - offset));
            }
            nested[nb] = max;
            float inv = 1.0f / max;
            for (int i = start; i < end; i++) {
                q[i] = (byte) DynamicMap.quantize(code, (absmax[i] - offset) * inv);
            }
        }
        return new Nf4Tensor(rows, cols, blockSize, packed, NF4, null, q, nested, code, offset, NESTED_BLOCK_SIZE);
    }

    private static void quantizeBlock(float[] weights, int start, int end, float[] absmax, int block, byte[] packed) {
        float max = 0f;
        for (int i = start; i < end; i++) {
            max = Math.max(max, Math.abs(weights[i]));
        }
        absmax[block] = max;
        float inv = 1.0f / max; // as bitsandbytes: multiply by the reciprocal (an all-zero block gives NaN → code 0)
        for (int i = start; i < end; i += 2) {
            int high = nf4Index(weights[i] * inv);
            // an odd count is padded with the value 0.0, quantized like the rest, as bitsandbytes' kernel loads it
            int low = nf4Index((i + 1 < end ? weights[i + 1] : 0f) * inv);
            packed[i >> 1] = (byte) (high << 4 | low);
        }
    }

    /** An NF4 tensor from stored parts without double quantization (absmax float32, one per block). */
    public static Nf4Tensor of(int rows, int cols, int blockSize, byte[] packed, float[] absmax, float[] quantMap) {
        return new Nf4Tensor(rows, cols, blockSize, packed, quantMap, absmax, null, null, null, 0f, 0);
    }

    /** An NF4 tensor from stored, double-quantized parts (as bitsandbytes serializes them). */
    public static Nf4Tensor ofDoubleQuant(int rows, int cols, int blockSize, byte[] packed, byte[] quantizedAbsmax,
                                          float[] quantMap, int nestedBlockSize, float[] nestedAbsmax,
                                          float[] nestedQuantMap, float nestedOffset) {
        return new Nf4Tensor(rows, cols, blockSize, packed, quantMap, null, Objects.requireNonNull(quantizedAbsmax),
                Objects.requireNonNull(nestedAbsmax), Objects.requireNonNull(nestedQuantMap), nestedOffset, nestedBlockSize);
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    public int size() {
        return rows * cols;
    }

    public int blockSize() {
        return blockSize;
    }

    public int blockCount() {
        return ceilDiv(size(), blockSize);
    }

    public boolean doubleQuant() {
        return quantizedAbsmax != null;
    }

    /** Packed codes, (size + 1) / 2 bytes, element 2i in the high nibble. */
    public byte[] packed() {
        return packed;
    }

    /** The 16 code values used to dequantize (bitsandbytes' {@code quant_map}). */
    public float[] quantMap() {
        return quantMap;
    }

    /** float32 absmax per block; null when double-quantized. */
    public float[] absmax() {
        return absmax;
    }

    /** 8-bit indices into {@link #nestedQuantMap()} per block; null without double quant. */
    public byte[] quantizedAbsmax() {
        return quantizedAbsmax;
    }

    /** float32 absmax per nested block of {@link #nestedBlockSize()} absmax values; null without double quant. */
    public float[] nestedAbsmax() {
        return nestedAbsmax;
    }

    /** The 256-value map of the quantized absmax; null without double quant. */
    public float[] nestedQuantMap() {
        return nestedQuantMap;
    }

    /** mean(absmax), added back after dequantizing the absmax; 0 without double quant. */
    public float nestedOffset() {
        return nestedOffset;
    }

    public int nestedBlockSize() {
        return nestedBlockSize;
    }

    /** The absmax that dequantization uses for {@code block} (the double-quantized approximation when enabled). */
    public float blockAbsmax(int block) {
        if (quantizedAbsmax == null) {
            return absmax[block];
        }
        return nestedQuantMap[quantizedAbsmax[block] & 0xff] * nestedAbsmax[block / nestedBlockSize] + nestedOffset;
    }

    /**
     * The hot path of every product with a frozen weight: per byte, two table loads and two multiplies by the
     * block's scale; only the block boundaries and an odd first/last element are handled apart.
     */
    @Override
    public void dequantizeRows(int rowStart, int rowCount, float[] out, int outOffset) {
        Objects.checkFromIndexSize(rowStart, rowCount, rows);
        int i = rowStart * cols;
        int end = i + rowCount * cols;
        Objects.checkFromIndexSize(outOffset, end - i, out.length);
        final byte[] p = packed;
        final float[] hi = high;
        final float[] lo = low;
        int o = outOffset;
        while (i < end) {
            int block = i / blockSize;
            int blockEnd = Math.min(end, (block + 1) * blockSize);
            float scale = blockAbsmax(block);
            if ((i & 1) != 0) { // only at the start of the range: block boundaries are even
                out[o++] = lo[p[i >> 1] & 0xff] * scale;
                i++;
            }
            int pairEnd = i + ((blockEnd - i) & ~1);
            for (int b = i >> 1, bEnd = pairEnd >> 1; b < bEnd; b++, o += 2) {
                int v = p[b] & 0xff;
                out[o] = hi[v] * scale;
                out[o + 1] = lo[v] * scale;
            }
            i = pairEnd;
            if (i < blockEnd) {
                out[o++] = hi[p[i >> 1] & 0xff] * scale;
                i++;
            }
        }
    }

    /**
     * Exactly the bytes of the arrays this tensor owns: packed codes, absmax (float32, or 8-bit + nested float32
     * + the offset), and its code tables when they are not the shared standard NF4 / dynamic maps.
     */
    @Override
    public long residentBytes() {
        long bytes = packed.length;
        if (quantizedAbsmax == null) {
            bytes += 4L * absmax.length;
        } else {
            bytes += quantizedAbsmax.length + 4L * nestedAbsmax.length + 4; // + the float offset
            if (!sharedNestedMap) {
                bytes += 4L * nestedQuantMap.length;
            }
        }
        if (!sharedTables) {
            bytes += 4L * (quantMap.length + high.length + low.length);
        }
        return bytes;
    }

    private static float[] highTable(float[] map) {
        float[] t = new float[256];
        for (int v = 0; v < 256; v++) {
            t[v] = map[v >> 4];
        }
        return t;
    }

    private static float[] lowTable(float[] map) {
        float[] t = new float[256];
        for (int v = 0; v < 256; v++) {
            t[v] = map[v & 15];
        }
        return t;
    }

    private static int ceilDiv(int a, int b) {
        return (int) (((long) a + b - 1) / b);
    }
}
