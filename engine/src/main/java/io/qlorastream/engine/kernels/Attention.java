package io.qlorastream.engine.kernels;

import io.qlorastream.engine.compute.Backend;

/**
 * Causal scaled dot-product attention with grouped-query heads (query head h reads key/value head
 * {@code h / (heads / kvHeads)}) and a key mask for right-padded batches.
 * <p>
 * Layouts: q and out are [batch, tq, heads·headDim]; k and v are [batch, kvCap, kvHeads·headDim] of which the first tk
 * rows are used (kvCap = tq for a plain forward, the cache capacity when decoding). Query row i sits at position
 * {@code qStart + i} and sees keys j ≤ qStart + i whose mask is 1.
 * <p>
 * Causal blocks: the query rows are cut into blocks of {@link #QUERY_BLOCK}, and block [r0, r1) multiplies only by the
 * keys it can see, [0, qStart + r1). On a training sequence of 512 tokens that is 4 blocks and 62.5 % of the full
 * square's products (the softmaxes already stopped at the diagonal). probs (and dprobs) hold, block after block, each
 * block's [entries, rows, visible keys], where the entries are the (batch, head) pairs of the call; with one block
 * (up to {@link #QUERY_BLOCK} query rows, as when decoding) that is [batch, heads, tq, tk]. Every block's scores are
 * dense, so the backend writes them without first copying in what the array held. {@link #probsFloats} is the size.
 */
public final class Attention {
    private Attention() {
    }

    /** The sizes of one attention call. */
    public record Shape(int batch, int tq, int tk, int kvCap, int qStart, int heads, int kvHeads, int headDim) {
        public Shape {
            if (heads % kvHeads != 0) {
                throw new IllegalArgumentException("heads " + heads + " not a multiple of kv heads " + kvHeads);
            }
            if (qStart + tq > tk || tk > kvCap) {
                throw new IllegalArgumentException("attention shape: qStart " + qStart + " + tq " + tq + " must be <= tk "
                        + tk + " <= kvCap " + kvCap);
            }
        }

        int qDim() {
            return heads * headDim;
        }

        int kvDim() {
            return kvHeads * headDim;
        }

        int group() {
            return heads / kvHeads;
        }
    }

    /** Query rows per causal block: 128 keeps the blocks' products large enough for sgemm (m = 128). */
    static final int QUERY_BLOCK = 128;

    /** Query rows [r0, r0 + rows) see keys [0, keys); their probabilities start at {@code entries · before}. */
    private record Block(int r0, int rows, int keys, long before) {
        int at(int entries, int entry, int row) {
            return (int) (entries * before + ((long) entry * rows + row) * keys);
        }
    }

    private static Block[] blocks(Shape s, int queryBlock) {
        int n = (s.tq() + queryBlock - 1) / queryBlock;
        Block[] b = new Block[n];
        long before = 0;
        for (int i = 0; i < n; i++) {
            int r0 = i * queryBlock;
            int rows = Math.min(queryBlock, s.tq() - r0);
            int keys = Math.min(s.tk(), s.qStart() + r0 + rows);
            b[i] = new Block(r0, rows, keys, before);
            before += (long) rows * keys;
        }
        return b;
    }

    /** Floats of probs (and of dprobs) for {@code entries} (batch, head) pairs: at most entries·tq·tk. */
    public static long probsFloats(Shape s, int entries) {
        long perEntry = 0;
        for (Block b : blocks(s, QUERY_BLOCK)) {
            perEntry += (long) b.rows() * b.keys();
        }
        return entries * perEntry;
    }

    /**
     * @param keyMask null (every key real) or [batch, kvCap] with 1 for a real token, 0 for padding
     */
    public static void forward(Backend be, float[] out, float[] probs, float[] q, float[] k, float[] v, int[] keyMask,
                               Shape s) {
        Entries all = Entries.of(s, 0, s.batch() * s.heads());
        for (Block b : blocks(s, QUERY_BLOCK)) {
            scores(be, probs, q, k, keyMask, s, all, b);
            values(be, out, probs, v, s, all, b);
        }
    }

    /** The (batch, head) pairs [e0, e0 + count) of one call, with their q and k/v column offsets (row 0). */
    private record Entries(int e0, int count, int[] qOff, int[] kOff) {
        static Entries of(Shape s, int e0, int e1) {
            int[] qOff = new int[e1 - e0];
            int[] kOff = new int[e1 - e0];
            for (int e = e0; e < e1; e++) {
                int b = e / s.heads();
                int h = e % s.heads();
                qOff[e - e0] = b * s.tq() * s.qDim() + h * s.headDim();
                kOff[e - e0] = b * s.kvCap() * s.kvDim() + (h / s.group()) * s.headDim();
            }
            return new Entries(e0, e1 - e0, qOff, kOff);
        }

        /** q (or out, dq, dout) offsets of the block's first row. */
        int[] queryRows(Shape s, Block b) {
            int[] o = new int[count];
            for (int e = 0; e < count; e++) {
                o[e] = qOff[e] + b.r0() * s.qDim();
            }
            return o;
        }

        int[] probs(Block b) {
            int[] o = new int[count];
            for (int e = 0; e < count; e++) {
                o[e] = b.at(count, e, 0);
            }
            return o;
        }

        /** Of the entries, those that are member gi of their KV group: {query rows of the block, kv, probs} offsets. */
        int[][] member(int gi, int group, Shape s, Block b) {
            int c = count / group;
            int[] qr = queryRows(s, b);
            int[] pr = probs(b);
            int[][] sel = new int[3][c];
            for (int u = 0; u < c; u++) {
                sel[0][u] = qr[u * group + gi];
                sel[1][u] = kOff[u * group + gi];
                sel[2][u] = pr[u * group + gi];
            }
            return sel;
        }
    }

    /** Block b's probabilities of the entries: scores = q_h · k_hᵀ / sqrt(d) over the visible keys, then softmax. */
    private static void scores(Backend be, float[] probs, float[] q, float[] k, int[] keyMask, Shape s, Entries en, Block b) {
        float scale = (float) (1.0 / Math.sqrt(s.headDim()));
        be.sgemmBatched(false, true, b.rows(), b.keys(), s.headDim(), scale, q, en.queryRows(s, b), s.qDim(), k, en.kOff(),
                s.kvDim(), 0f, probs, en.probs(b), b.keys());
        be.parallelFor(en.count() * b.rows(), r -> {
            int e = r / b.rows();
            int i = r % b.rows();
            softmaxRow(probs, b.at(en.count(), e, i), (en.e0() + e) / s.heads(), b.r0() + i, b.keys(), keyMask, s);
        });
    }

    /** Block b's rows of out_h = probs · v_h. */
    private static void values(Backend be, float[] out, float[] probs, float[] v, Shape s, Entries en, Block b) {
        be.sgemmBatched(false, false, b.rows(), s.headDim(), b.keys(), 1f, probs, en.probs(b), b.keys(), v, en.kOff(),
                s.kvDim(), 0f, out, en.queryRows(s, b), s.qDim());
    }

    /**
     * Softmax of query row i of batch b, whose {@code len} scores start at p[off]: keys after the row's position
     * (causal) or masked out get probability 0.
     */
    private static void softmaxRow(float[] p, int off, int b, int i, int len, int[] keyMask, Shape s) {
        int end = Math.min(len, s.qStart() + i + 1);
        float max = Float.NEGATIVE_INFINITY;
        if (keyMask == null) {
            for (int j = 0; j < end; j++) {
                max = Math.max(max, p[off + j]);
            }
        } else {
            for (int j = 0; j < end; j++) {
                if (allowed(keyMask, b, j, s)) {
                    max = Math.max(max, p[off + j]);
                }
            }
        }
        // all keys at once (the exponential vectorizes), then masked-out keys back to 0
        FastExp.exp(p, off, 1f, -max, p, off, end);
        if (keyMask != null) {
            for (int j = 0; j < end; j++) {
                if (!allowed(keyMask, b, j, s)) {
                    p[off + j] = 0f;
                }
            }
        }
        java.util.Arrays.fill(p, off + end, off + len, 0f);
        double sum = FastExp.sum(p, off, end);
        if (sum > 0) {
            float inv = (float) (1.0 / sum);
            for (int j = 0; j < end; j++) {
                p[off + j] *= inv;
            }
        }
    }

    private static boolean allowed(int[] keyMask, int b, int j, Shape s) {
        return keyMask == null || keyMask[b * s.kvCap() + j] != 0;
    }

    /**
     * Accumulates dq, dk, dv (+=) from dout; dprobs is scratch the size of probs. Softmax backward:
     * dscore = p · (dp − Σ_j p_j dp_j), then the 1/sqrt(d) scale.
     */
    public static void backward(Backend be, float[] dq, float[] dk, float[] dv, float[] dprobs, float[] dout,
                                float[] probs, float[] q, float[] k, float[] v, Shape s) {
        Entries all = Entries.of(s, 0, s.batch() * s.heads());
        for (Block b : blocks(s, QUERY_BLOCK)) {
            gradients(be, dq, dk, dv, probs, dprobs, dout, q, k, v, s, all, b);
        }
    }

    /**
     * Heads per chunk of {@link #forwardChunked}/{@link #backwardRecomputing}: whole KV groups (every query head of a
     * KV head, so GQA's shared dk/dv rows are still accumulated in the same order) such that one chunk's probabilities
     * take at most {@code maxFloats} (at least one group).
     */
    public static int chunkHeads(Shape s, long maxFloats) {
        long perGroup = probsFloats(s, s.group());
        long groups = Math.max(1, maxFloats / perGroup);
        return (int) Math.min((long) s.batch() * s.heads(), groups * s.group());
    }

    /**
     * {@link #forward} over {@code chunkHeads} (batch, head) pairs at a time with probabilities of one chunk in
     * {@code probs}: the same products and softmax per head, so the same output, with a fraction of the
     * probabilities' memory. The backward must then recompute them ({@link #backwardRecomputing}).
     */
    public static void forwardChunked(Backend be, float[] out, float[] probs, float[] q, float[] k, float[] v, int[] keyMask,
                                      Shape s, int chunkHeads) {
        int bh = s.batch() * s.heads();
        Block[] blocks = blocks(s, QUERY_BLOCK);
        for (int e0 = 0; e0 < bh; e0 += chunkHeads) {
            Entries chunk = Entries.of(s, e0, Math.min(bh, e0 + chunkHeads));
            for (Block b : blocks) {
                scores(be, probs, q, k, keyMask, s, chunk, b);
                values(be, out, probs, v, s, chunk, b);
            }
        }
    }

    /**
     * {@link #backward} after {@link #forwardChunked}: per chunk of {@code chunkHeads} heads the probabilities are
     * recomputed from q and k (the forward's products and softmax again) into {@code probs}, then the chunk's gradients
     * accumulate exactly as {@link #backward} accumulates them. probs and dprobs: one chunk's scratch.
     */
    public static void backwardRecomputing(Backend be, float[] dq, float[] dk, float[] dv, float[] probs, float[] dprobs,
                                           float[] dout, float[] q, float[] k, float[] v, int[] keyMask, Shape s,
                                           int chunkHeads) {
        int bh = s.batch() * s.heads();
        Block[] blocks = blocks(s, QUERY_BLOCK);
        for (int e0 = 0; e0 < bh; e0 += chunkHeads) {
            Entries chunk = Entries.of(s, e0, Math.min(bh, e0 + chunkHeads));
            for (Block b : blocks) {
                scores(be, probs, q, k, keyMask, s, chunk, b);
                gradients(be, dq, dk, dv, probs, dprobs, dout, q, k, v, s, chunk, b);
            }
        }
    }

    /** The backward of block b for the entries (whole KV groups). */
    private static void gradients(Backend be, float[] dq, float[] dk, float[] dv, float[] probs, float[] dprobs, float[] dout,
                                  float[] q, float[] k, float[] v, Shape s, Entries en, Block b) {
        float scale = (float) (1.0 / Math.sqrt(s.headDim()));
        int[] rows = en.queryRows(s, b);
        int[] pr = en.probs(b);
        // dp = dout_h · v_hᵀ
        be.sgemmBatched(false, true, b.rows(), b.keys(), s.headDim(), 1f, dout, rows, s.qDim(), v, en.kOff(), s.kvDim(),
                0f, dprobs, pr, b.keys());
        // dv_kv += p_hᵀ · dout_h; heads of one group write the same dv rows, so one group member per call.
        for (int gi = 0; gi < s.group(); gi++) {
            int[][] sel = en.member(gi, s.group(), s, b);
            be.sgemmBatched(true, false, b.keys(), s.headDim(), b.rows(), 1f, probs, sel[2], b.keys(), dout, sel[0],
                    s.qDim(), 1f, dv, sel[1], s.kvDim());
        }
        be.parallelFor(en.count() * b.rows(), r -> {
            int e = r / b.rows();
            int i = r % b.rows();
            softmaxBackwardRow(probs, dprobs, b.at(en.count(), e, i), b.r0() + i, b.keys(), scale, s);
        });
        // dq_h += dscore · k_h
        be.sgemmBatched(false, false, b.rows(), s.headDim(), b.keys(), 1f, dprobs, pr, b.keys(), k, en.kOff(), s.kvDim(),
                1f, dq, rows, s.qDim());
        // dk_kv += dscoreᵀ · q_h
        for (int gi = 0; gi < s.group(); gi++) {
            int[][] sel = en.member(gi, s.group(), s, b);
            be.sgemmBatched(true, false, b.keys(), s.headDim(), b.rows(), 1f, dprobs, sel[2], b.keys(), q, sel[0],
                    s.qDim(), 1f, dk, sel[1], s.kvDim());
        }
    }

    /**
     * dscore = p · (dp − Σ_j p_j dp_j) · scale for query row i ({@code len} scores at off). Keys after the row's
     * position have p = 0 (causal): their terms add nothing to the sum and their dscore is 0, so the loops stop at the
     * position.
     */
    private static void softmaxBackwardRow(float[] probs, float[] dprobs, int off, int i, int len, float scale, Shape s) {
        int end = Math.min(len, s.qStart() + i + 1);
        // the dot product in double with four accumulators (one chain of dependent adds was the row's bottleneck), the
        // update in float (it vectorizes; in double it did not)
        double d0 = 0, d1 = 0, d2 = 0, d3 = 0;
        int j = 0;
        for (; j + 3 < end; j += 4) {
            d0 += (double) probs[off + j] * dprobs[off + j];
            d1 += (double) probs[off + j + 1] * dprobs[off + j + 1];
            d2 += (double) probs[off + j + 2] * dprobs[off + j + 2];
            d3 += (double) probs[off + j + 3] * dprobs[off + j + 3];
        }
        for (; j < end; j++) {
            d0 += (double) probs[off + j] * dprobs[off + j];
        }
        float dot = (float) ((d0 + d1) + (d2 + d3));
        for (j = 0; j < end; j++) {
            dprobs[off + j] = probs[off + j] * (dprobs[off + j] - dot) * scale;
        }
        java.util.Arrays.fill(dprobs, off + end, off + len, 0f);
    }
}
