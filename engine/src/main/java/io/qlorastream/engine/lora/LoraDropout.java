package io.qlorastream.engine.lora;

import io.qlorastream.engine.config.Projection;

/**
 * PEFT's {@code lora_dropout} (inverted dropout on the LoRA input: kept elements are scaled by 1/(1−p)), with
 * counter-based masks: the keep decision of element {@code i} is a hash of (seed, micro-batch counter, layer,
 * projection, i). A block recomputed by activation checkpointing therefore sees the same mask without storing
 * it, and the whole state to save is {@link #counter()} (the seed is configuration).
 */
public final class LoraDropout {
    public final double p;
    public final long seed;
    private final float keepScale;
    private final int dropBelow;
    private long counter;

    public LoraDropout(double p, long seed) {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        }
        this.p = p;
        this.seed = seed;
        this.keepScale = (float) (1.0 / (1.0 - p));
        this.dropBelow = (int) Math.round(p * 65536);
        this.byteFactors = new float[256 * 8];
        for (int b = 0; b < 256; b++) {
            for (int j = 0; j < 8; j++) {
                byteFactors[b * 8 + j] = (b >>> j & 1) != 0 ? keepScale : 0f;
            }
        }
    }

    /**
     * The factors (1/(1−p) kept, 0 dropped) of the 8 elements of every mask byte value, so that applying a bit mask is
     * a plain product of two float runs, 8 at a time, which the JIT vectorizes (a branch per element does not).
     * Dropping multiplies by 0 as torch's {@code x * mask / (1 − p)} does (a dropped NaN stays NaN; −x gives −0).
     */
    private final float[] byteFactors;

    private float factor(long key, long index) {
        return keeps(key, index) ? keepScale : 0f;
    }

    /** True when dropout changes nothing (p = 0). */
    public boolean isIdentity() {
        return p == 0;
    }

    /** Moves to the masks of the next micro-batch; call once per forward/backward pass of a micro-batch. */
    public void nextMicroBatch() {
        counter++;
    }

    public long counter() {
        return counter;
    }

    public void restore(long savedCounter) {
        this.counter = savedCounter;
    }

    /** The mask stream of one module in the current micro-batch. */
    public long key(int layer, Projection projection) {
        int j = projection.ordinal();
        long k = Rng.mix64(seed ^ 0x5DEECE66DL);
        k = Rng.mix64(k + counter);
        k = Rng.mix64(k + ((long) layer << 8 | j));
        return k;
    }

    /**
     * The keep decision of element {@code index}: one 64-bit hash of (key, index / 4) gives four 16-bit uniforms, one
     * per element of the group, and an element is dropped when its uniform falls below p·2^16 (rounded: p = 0.05
     * drops with probability 0.050003). Four elements per hash make masks four times cheaper than one hash each.
     */
    public boolean keeps(long key, long index) {
        return (groupHash(key, index >>> 2) >>> ((index & 3) << 4) & 0xFFFF) >= dropBelow;
    }

    /** The hash of elements [4·group, 4·group + 4) of the stream {@code key}: element e of the group has bits 16e.. . */
    private static long groupHash(long key, long group) {
        return Rng.mix64(key + group * 0x9E3779B97F4A7C15L);
    }

    /** {@link #keeps}' threshold: p·2^16 rounded; 16-bit uniforms below it are dropped. */
    public int dropThreshold() {
        return dropBelow;
    }

    /** {@code out[i] = x[i] · (keep ? 1/(1−p) : 0)} for n elements (element indices counted from 0 at {@code xOff}). */
    public void forward(long key, float[] x, int xOff, int n, float[] out, int outOff) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = x[xOff + i] * factor(key, i);
        }
    }

    /** Elements per parallel task of the backend variants (the masks depend on element indices only, not on the cut). */
    private static final int PARALLEL_CHUNK = 1 << 14;

    /** {@link #forward(long, float[], int, int, float[], int)} spread over the backend's threads: the same values. */
    public void forward(io.qlorastream.engine.compute.Backend be, long key, float[] x, int xOff, int n, float[] out, int outOff) {
        be.parallelFor((n + PARALLEL_CHUNK - 1) / PARALLEL_CHUNK, c -> {
            int from = c * PARALLEL_CHUNK;
            int to = Math.min(n, from + PARALLEL_CHUNK);
            for (int i = from; i < to; i++) {
                out[outOff + i] = x[xOff + i] * factor(key, i);
            }
        });
    }

    /** {@link #backward(long, float[], int, int, float[], int)} spread over the backend's threads: the same values. */
    public void backward(io.qlorastream.engine.compute.Backend be, long key, float[] dOut, int dOff, int n, float[] dx, int dxOff) {
        be.parallelFor((n + PARALLEL_CHUNK - 1) / PARALLEL_CHUNK, c -> {
            int from = c * PARALLEL_CHUNK;
            int to = Math.min(n, from + PARALLEL_CHUNK);
            for (int i = from; i < to; i++) {
                dx[dxOff + i] += dOut[dOff + i] * factor(key, i);
            }
        });
    }

    /**
     * The keep decisions of elements [0, n) of {@code key} as bits (bit i of word i/64 set = kept), computed in
     * parallel; {@code bits} is reused when long enough. Hashing is most of dropout's cost: a caller that applies the
     * same mask several times (forward, checkpointing's recompute, backward) computes it once with this.
     */
    public long[] mask(io.qlorastream.engine.compute.Backend be, long key, int n, long[] bits) {
        int words = (n + 63) >>> 6;
        long[] out = bits != null && bits.length >= words ? bits : new long[words];
        int wordsPerTask = PARALLEL_CHUNK / 64;
        be.parallelFor((words + wordsPerTask - 1) / wordsPerTask, c -> {
            int w1 = Math.min(words, (c + 1) * wordsPerTask);
            for (int w = c * wordsPerTask; w < w1; w++) {
                long word = 0;
                int base = w << 6;
                int end = Math.min(64, n - base);
                // keeps() four elements per hash: bits b..b+3 of the word from the group (base + b) / 4, each
                // (uniform − threshold)'s sign bit flipped, without a branch (one in twenty would mispredict at p = 0.05)
                for (int b = 0; b < end; b += 4) {
                    long h = groupHash(key, (long) (base + b) >>> 2);
                    long keep = (((int) (h & 0xFFFF) - dropBelow) >>> 31 ^ 1)
                            | (((int) (h >>> 16 & 0xFFFF) - dropBelow) >>> 31 ^ 1) << 1
                            | (((int) (h >>> 32 & 0xFFFF) - dropBelow) >>> 31 ^ 1) << 2
                            | (((int) (h >>> 48 & 0xFFFF) - dropBelow) >>> 31 ^ 1) << 3;
                    word |= keep << b;
                }
                if (end < 64) {
                    word &= (1L << end) - 1; // the last word of an n that is not a multiple of 4: no bits past n
                }
                out[w] = word;
            }
        });
        return out;
    }

    /** {@link #forward} with a mask from {@link #mask}: the same values. */
    public void forward(io.qlorastream.engine.compute.Backend be, long[] bits, float[] x, int xOff, int n, float[] out, int outOff) {
        be.parallelFor((n + PARALLEL_CHUNK - 1) / PARALLEL_CHUNK, c -> {
            int from = c * PARALLEL_CHUNK; // a multiple of 64: chunks start on a mask word
            int to = Math.min(n, from + PARALLEL_CHUNK);
            int i = from;
            for (; i + 8 <= to; i += 8) {
                int f = (int) (bits[i >>> 6] >>> (i & 56)) & 0xff;
                f <<= 3;
                for (int j = 0; j < 8; j++) {
                    out[outOff + i + j] = x[xOff + i + j] * byteFactors[f + j];
                }
            }
            for (; i < to; i++) {
                out[outOff + i] = x[xOff + i] * ((bits[i >>> 6] >>> i & 1L) != 0 ? keepScale : 0f);
            }
        });
    }

    /** {@link #backward} with a mask from {@link #mask}: the same values. */
    public void backward(io.qlorastream.engine.compute.Backend be, long[] bits, float[] dOut, int dOff, int n, float[] dx, int dxOff) {
        be.parallelFor((n + PARALLEL_CHUNK - 1) / PARALLEL_CHUNK, c -> {
            int from = c * PARALLEL_CHUNK;
            int to = Math.min(n, from + PARALLEL_CHUNK);
            int i = from;
            for (; i + 8 <= to; i += 8) {
                int f = (int) (bits[i >>> 6] >>> (i & 56)) & 0xff;
                f <<= 3;
                for (int j = 0; j < 8; j++) {
                    dx[dxOff + i + j] += dOut[dOff + i + j] * byteFactors[f + j];
                }
            }
            for (; i < to; i++) {
                dx[dxOff + i] += dOut[dOff + i] * ((bits[i >>> 6] >>> i & 1L) != 0 ? keepScale : 0f);
            }
        });
    }

    /** {@code dx[i] += dOut[i] · (keep ? 1/(1−p) : 0)}, the backward of {@link #forward} with the same key. */
    public void backward(long key, float[] dOut, int dOff, int n, float[] dx, int dxOff) {
        for (int i = 0; i < n; i++) {
            dx[dxOff + i] += dOut[dOff + i] * factor(key, i);
        }
    }
}
