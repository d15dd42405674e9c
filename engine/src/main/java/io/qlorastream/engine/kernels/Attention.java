package io.qlorastream.engine.kernels;

import io.qlorastream.engine.compute.Backend;

/**
 * Causal scaled dot-product attention with grouped-query heads (query head h reads key/value head
 * {@code h / (heads / kvHeads)}) and a key mask for right-padded batches.
 * <p>
 * Layouts: q and out are [batch, tq, heads·headDim]; k and v are [batch, kvCap, kvHeads·headDim] of which the first tk
 * rows are used (kvCap = tq for a plain forward, the cache capacity when decoding); probs is [batch, heads, tq, tk].
 * Query row i sits at position {@code qStart + i} and sees keys j ≤ qStart + i whose mask is 1.
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

    /**
     * @param keyMask null (every key real) or [batch, kvCap] with 1 for a real token, 0 for padding
     */
    public static void forward(Backend be, float[] out, float[] probs, float[] q, float[] k, float[] v, int[] keyMask,
                               Shape s) {
        int bh = s.batch() * s.heads();
        int[] qOff = new int[bh];
        int[] kOff = new int[bh];
        int[] pOff = new int[bh];
        offsets(s, qOff, kOff, pOff);
        float scale = (float) (1.0 / Math.sqrt(s.headDim()));
        // scores = q_h · k_hᵀ / sqrt(d)
        be.sgemmBatched(false, true, s.tq(), s.tk(), s.headDim(), scale, q, qOff, s.qDim(), k, kOff, s.kvDim(),
                0f, probs, pOff, s.tk());
        be.parallelFor(bh * s.tq(), r -> softmaxRow(probs, r, keyMask, s));
        // out_h = probs · v_h
        be.sgemmBatched(false, false, s.tq(), s.headDim(), s.tk(), 1f, probs, pOff, s.tk(), v, kOff, s.kvDim(),
                0f, out, qOff, s.qDim());
    }

    private static void softmaxRow(float[] p, int r, int[] keyMask, Shape s) {
        softmaxRow(p, r * s.tk(), r / (s.heads() * s.tq()), r % s.tq(), keyMask, s);
    }

    /**
     * Softmax of query row i of batch b, whose scores start at p[off]: keys after the row's position (causal) or masked
     * out get probability 0. Without a key mask the loops carry no per-key test.
     */
    private static void softmaxRow(float[] p, int off, int b, int i, int[] keyMask, Shape s) {
        int end = Math.min(s.tk(), s.qStart() + i + 1);
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
        java.util.Arrays.fill(p, off + end, off + s.tk(), 0f);
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

    private static void offsets(Shape s, int[] qOff, int[] kOff, int[] pOff) {
        for (int b = 0; b < s.batch(); b++) {
            for (int h = 0; h < s.heads(); h++) {
                int i = b * s.heads() + h;
                qOff[i] = b * s.tq() * s.qDim() + h * s.headDim();
                kOff[i] = b * s.kvCap() * s.kvDim() + (h / s.group()) * s.headDim();
                pOff[i] = i * s.tq() * s.tk();
            }
        }
    }

    /**
     * Accumulates dq, dk, dv (+=) from dout; dprobs is scratch the size of probs. Softmax backward:
     * dscore = p · (dp − Σ_j p_j dp_j), then the 1/sqrt(d) scale.
     */
    public static void backward(Backend be, float[] dq, float[] dk, float[] dv, float[] dprobs, float[] dout,
                                float[] probs, float[] q, float[] k, float[] v, Shape s) {
        int bh = s.batch() * s.heads();
        int[] qOff = new int[bh];
        int[] kOff = new int[bh];
        int[] pOff = new int[bh];
        offsets(s, qOff, kOff, pOff);
        float scale = (float) (1.0 / Math.sqrt(s.headDim()));
        // dp = dout_h · v_hᵀ
        be.sgemmBatched(false, true, s.tq(), s.tk(), s.headDim(), 1f, dout, qOff, s.qDim(), v, kOff, s.kvDim(),
                0f, dprobs, pOff, s.tk());
        // dv_kv += p_hᵀ · dout_h; heads of one group write the same dv rows, so one group member per call.
        for (int gi = 0; gi < s.group(); gi++) {
            int[][] sel = groupMember(gi, s, qOff, kOff, pOff);
            be.sgemmBatched(true, false, s.tk(), s.headDim(), s.tq(), 1f, probs, sel[2], s.tk(), dout, sel[0], s.qDim(),
                    1f, dv, sel[1], s.kvDim());
        }
        be.parallelFor(bh * s.tq(), r -> softmaxBackwardRow(probs, dprobs, r * s.tk(), r % s.tq(), scale, s));
        // dq_h += dscore · k_h
        be.sgemmBatched(false, false, s.tq(), s.headDim(), s.tk(), 1f, dprobs, pOff, s.tk(), k, kOff, s.kvDim(),
                1f, dq, qOff, s.qDim());
        // dk_kv += dscoreᵀ · q_h
        for (int gi = 0; gi < s.group(); gi++) {
            int[][] sel = groupMember(gi, s, qOff, kOff, pOff);
            be.sgemmBatched(true, false, s.tk(), s.headDim(), s.tq(), 1f, dprobs, sel[2], s.tk(), q, sel[0], s.qDim(),
                    1f, dk, sel[1], s.kvDim());
        }
    }

    /** The offsets of the heads that are member gi of their KV group: {q, kv, probs}. */
    private static int[][] groupMember(int gi, Shape s, int[] qOff, int[] kOff, int[] pOff) {
        int n = s.batch() * s.kvHeads();
        int[][] sel = new int[3][n];
        int c = 0;
        for (int b = 0; b < s.batch(); b++) {
            for (int kv = 0; kv < s.kvHeads(); kv++) {
                int i = b * s.heads() + kv * s.group() + gi;
                sel[0][c] = qOff[i];
                sel[1][c] = kOff[i];
                sel[2][c] = pOff[i];
                c++;
            }
        }
        return sel;
    }

    /**
     * Heads per chunk of {@link #forwardChunked}/{@link #backwardRecomputing}: whole KV groups (every query head of a
     * KV head, so GQA's shared dk/dv rows are still accumulated in the same order) such that one chunk's probabilities
     * take at most {@code maxFloats} (at least one group).
     */
    public static int chunkHeads(Shape s, long maxFloats) {
        long perGroup = (long) s.group() * s.tq() * s.tk();
        long groups = Math.max(1, maxFloats / perGroup);
        return (int) Math.min((long) s.batch() * s.heads(), groups * s.group());
    }

    /**
     * {@link #forward} over {@code chunkHeads} (batch, head) pairs at a time with probabilities of one chunk in
     * {@code probs} ([chunkHeads, tq, tk]): the same products and softmax per head, so the same output, with a
     * fraction of the probabilities' memory. The backward must then recompute them ({@link #backwardRecomputing}).
     */
    public static void forwardChunked(Backend be, float[] out, float[] probs, float[] q, float[] k, float[] v, int[] keyMask,
                                      Shape s, int chunkHeads) {
        int bh = s.batch() * s.heads();
        int[] qOff = new int[bh];
        int[] kOff = new int[bh];
        int[] pOff = new int[bh];
        offsets(s, qOff, kOff, pOff);
        for (int e0 = 0; e0 < bh; e0 += chunkHeads) {
            int e1 = Math.min(bh, e0 + chunkHeads);
            int[] qc = java.util.Arrays.copyOfRange(qOff, e0, e1);
            int[] kc = java.util.Arrays.copyOfRange(kOff, e0, e1);
            int[] pc = local(pOff, e0, e1);
            scores(be, probs, q, k, keyMask, s, e0, qc, kc, pc);
            be.sgemmBatched(false, false, s.tq(), s.headDim(), s.tk(), 1f, probs, pc, s.tk(), v, kc, s.kvDim(),
                    0f, out, qc, s.qDim());
        }
    }

    /** Probabilities of entries [e0, e0 + pc.length) into probs at the local offsets pc. */
    private static void scores(Backend be, float[] probs, float[] q, float[] k, int[] keyMask, Shape s, int e0, int[] qc,
                               int[] kc, int[] pc) {
        float scale = (float) (1.0 / Math.sqrt(s.headDim()));
        be.sgemmBatched(false, true, s.tq(), s.tk(), s.headDim(), scale, q, qc, s.qDim(), k, kc, s.kvDim(),
                0f, probs, pc, s.tk());
        be.parallelFor(pc.length * s.tq(), r -> {
            int e = e0 + r / s.tq();
            softmaxRow(probs, r * s.tk(), e / s.heads(), r % s.tq(), keyMask, s);
        });
    }

    private static int[] local(int[] pOff, int e0, int e1) {
        int[] o = new int[e1 - e0];
        for (int i = 0; i < o.length; i++) {
            o[i] = pOff[e0 + i] - pOff[e0];
        }
        return o;
    }

    /**
     * {@link #backward} after {@link #forwardChunked}: per chunk of {@code chunkHeads} heads the probabilities are
     * recomputed from q and k (the forward's products and softmax again) into {@code probs}, then the chunk's gradients
     * accumulate exactly as {@link #backward} accumulates them. probs and dprobs: [chunkHeads, tq, tk] scratch.
     */
    public static void backwardRecomputing(Backend be, float[] dq, float[] dk, float[] dv, float[] probs, float[] dprobs,
                                           float[] dout, float[] q, float[] k, float[] v, int[] keyMask, Shape s,
                                           int chunkHeads) {
        int bh = s.batch() * s.heads();
        int[] qOff = new int[bh];
        int[] kOff = new int[bh];
        int[] pOff = new int[bh];
        offsets(s, qOff, kOff, pOff);
        for (int e0 = 0; e0 < bh; e0 += chunkHeads) {
            int e1 = Math.min(bh, e0 + chunkHeads);
            int[] qc = java.util.Arrays.copyOfRange(qOff, e0, e1);
            int[] kc = java.util.Arrays.copyOfRange(kOff, e0, e1);
            int[] pc = local(pOff, e0, e1);
            scores(be, probs, q, k, keyMask, s, e0, qc, kc, pc);
            gradients(be, dq, dk, dv, probs, dprobs, dout, q, k, v, s, e1 - e0, qc, kc, pc);
        }
    }

    /** The body of the backward for {@code n} entries (whole KV groups) with offsets qc, kc and probability offsets pc. */
    private static void gradients(Backend be, float[] dq, float[] dk, float[] dv, float[] probs, float[] dprobs, float[] dout,
                                  float[] q, float[] k, float[] v, Shape s, int n, int[] qc, int[] kc, int[] pc) {
        float scale = (float) (1.0 / Math.sqrt(s.headDim()));
        be.sgemmBatched(false, true, s.tq(), s.tk(), s.headDim(), 1f, dout, qc, s.qDim(), v, kc, s.kvDim(),
                0f, dprobs, pc, s.tk());
        for (int gi = 0; gi < s.group(); gi++) {
            int[][] sel = member(gi, s.group(), n, qc, kc, pc);
            be.sgemmBatched(true, false, s.tk(), s.headDim(), s.tq(), 1f, probs, sel[2], s.tk(), dout, sel[0], s.qDim(),
                    1f, dv, sel[1], s.kvDim());
        }
        be.parallelFor(n * s.tq(), r -> softmaxBackwardRow(probs, dprobs, r * s.tk(), r % s.tq(), scale, s));
        be.sgemmBatched(false, false, s.tq(), s.headDim(), s.tk(), 1f, dprobs, pc, s.tk(), k, kc, s.kvDim(),
                1f, dq, qc, s.qDim());
        for (int gi = 0; gi < s.group(); gi++) {
            int[][] sel = member(gi, s.group(), n, qc, kc, pc);
            be.sgemmBatched(true, false, s.tk(), s.headDim(), s.tq(), 1f, dprobs, sel[2], s.tk(), q, sel[0], s.qDim(),
                    1f, dk, sel[1], s.kvDim());
        }
    }

    /** Entries gi, gi + group, ... of n consecutive entries that start a KV group: {q, kv, probs} offsets. */
    private static int[][] member(int gi, int group, int n, int[] qc, int[] kc, int[] pc) {
        int c = n / group;
        int[][] sel = new int[3][c];
        for (int u = 0; u < c; u++) {
            sel[0][u] = qc[u * group + gi];
            sel[1][u] = kc[u * group + gi];
            sel[2][u] = pc[u * group + gi];
        }
        return sel;
    }

    /**
     * dscore = p · (dp − Σ_j p_j dp_j) · scale for query row i (scores at off). Keys after the row's position have
     * p = 0 (causal): their terms add nothing to the sum and their dscore is 0, so the loops stop at the position,
     * half the work of a full row on average.
     */
    private static void softmaxBackwardRow(float[] probs, float[] dprobs, int off, int i, float scale, Shape s) {
        int end = Math.min(s.tk(), s.qStart() + i + 1);
        double dot = 0;
        for (int j = 0; j < end; j++) {
            dot += (double) probs[off + j] * dprobs[off + j];
        }
        for (int j = 0; j < end; j++) {
            dprobs[off + j] = (float) (probs[off + j] * (dprobs[off + j] - dot)) * scale;
        }
        java.util.Arrays.fill(dprobs, off + end, off + s.tk(), 0f);
    }
}
