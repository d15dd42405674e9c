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
        int b = r / (s.heads() * s.tq());
        int i = r % s.tq();
        int off = r * s.tk();
        int last = s.qStart() + i;
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j <= last; j++) {
            if (allowed(keyMask, b, j, s) && p[off + j] > max) {
                max = p[off + j];
            }
        }
        double sum = 0;
        for (int j = 0; j < s.tk(); j++) {
            if (j <= last && allowed(keyMask, b, j, s)) {
                float e = (float) Math.exp(p[off + j] - max);
                p[off + j] = e;
                sum += e;
            } else {
                p[off + j] = 0f;
            }
        }
        if (sum > 0) {
            float inv = (float) (1.0 / sum);
            for (int j = 0; j <= last; j++) {
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
        be.parallelFor(bh * s.tq(), r -> {
            int off = r * s.tk();
            double dot = 0;
            for (int j = 0; j < s.tk(); j++) {
                dot += (double) probs[off + j] * dprobs[off + j];
            }
            for (int j = 0; j < s.tk(); j++) {
                dprobs[off + j] = (float) (probs[off + j] * (dprobs[off + j] - dot)) * scale;
            }
        });
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
}
