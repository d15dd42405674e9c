package io.qlorastream.engine.kernels;

import io.qlorastream.engine.compute.CpuBackend;
import org.junit.jupiter.api.Test;

import static io.qlorastream.engine.kernels.KernelGradientTest.random;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Attention over more query rows than one causal block ({@link Attention#QUERY_BLOCK}): the blocked products, their
 * probabilities layout and the backward against a plain double-precision attention written out in full here (every
 * query row against every key, causal and padding masks as tests), with GQA, right padding, a last block shorter than
 * the others, decoding from a cache and the head-chunked variants. (KernelGradientTest checks the backward against
 * finite differences on one block.)
 */
class AttentionBlocksTest {

    /** out, dq, dk, dv of attention in double, from the definition. */
    private static double[][] reference(Attention.Shape s, float[] q, float[] k, float[] v, int[] mask, float[] dout) {
        int qDim = s.heads() * s.headDim(), kvDim = s.kvHeads() * s.headDim(), d = s.headDim();
        double[] out = new double[q.length], dq = new double[q.length], dk = new double[k.length], dv = new double[v.length];
        double scale = 1 / Math.sqrt(d);
        for (int b = 0; b < s.batch(); b++) {
            for (int h = 0; h < s.heads(); h++) {
                int kvh = h / (s.heads() / s.kvHeads());
                for (int i = 0; i < s.tq(); i++) {
                    int qo = (b * s.tq() + i) * qDim + h * d;
                    double[] p = new double[s.tk()];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < s.tk(); j++) {
                        boolean visible = j <= s.qStart() + i && (mask == null || mask[b * s.kvCap() + j] != 0);
                        if (!visible) {
                            p[j] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        int ko = (b * s.kvCap() + j) * kvDim + kvh * d;
                        double dotQk = 0;
                        for (int x = 0; x < d; x++) {
                            dotQk += (double) q[qo + x] * k[ko + x];
                        }
                        p[j] = dotQk * scale;
                        max = Math.max(max, p[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < s.tk(); j++) {
                        p[j] = p[j] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(p[j] - max);
                        sum += p[j];
                    }
                    double[] dp = new double[s.tk()];
                    double pdp = 0;
                    for (int j = 0; j < s.tk(); j++) {
                        p[j] /= sum;
                        int vo = (b * s.kvCap() + j) * kvDim + kvh * d;
                        for (int x = 0; x < d; x++) {
                            out[qo + x] += p[j] * v[vo + x];
                            dv[vo + x] += p[j] * dout[qo + x];
                            dp[j] += (double) dout[qo + x] * v[vo + x];
                        }
                        pdp += p[j] * dp[j];
                    }
                    for (int j = 0; j < s.tk(); j++) {
                        double ds = p[j] * (dp[j] - pdp) * scale;
                        int ko = (b * s.kvCap() + j) * kvDim + kvh * d;
                        for (int x = 0; x < d; x++) {
                            dq[qo + x] += ds * k[ko + x];
                            dk[ko + x] += ds * q[qo + x];
                        }
                    }
                }
            }
        }
        return new double[][]{out, dq, dk, dv};
    }

    private static void assertClose(String what, float[] got, double[] want) {
        double scale = 1e-3;
        for (double w : want) {
            scale = Math.max(scale, Math.abs(w));
        }
        for (int i = 0; i < want.length; i++) {
            assertThat(Math.abs(got[i] - want[i]) / scale).as("%s[%d]: %s vs %s", what, i, got[i], want[i]).isLessThan(2e-5);
        }
    }

    private record Run(float[] out, float[] dq, float[] dk, float[] dv, float[] probs) {
    }

    private static Run run(Attention.Shape s, float[] q, float[] k, float[] v, int[] mask, float[] dout, int chunkHeads) {
        int entries = chunkHeads == 0 ? s.batch() * s.heads() : chunkHeads;
        int pn = (int) Attention.probsFloats(s, entries);
        float[] out = new float[q.length], dq = new float[q.length], dk = new float[k.length], dv = new float[v.length];
        float[] probs = new float[pn];
        try (CpuBackend be = new CpuBackend(2)) {
            if (chunkHeads == 0) {
                Attention.forward(be, out, probs, q, k, v, mask, s);
                Attention.backward(be, dq, dk, dv, new float[pn], dout, probs, q, k, v, s);
            } else {
                Attention.forwardChunked(be, out, probs, q, k, v, mask, s, chunkHeads);
                Attention.backwardRecomputing(be, dq, dk, dv, probs, new float[pn], dout, q, k, v, mask, s, chunkHeads);
            }
        }
        return new Run(out, dq, dk, dv, probs);
    }

    private static void assertMatchesDefinition(Run run, double[][] want) {
        assertClose("out", run.out, want[0]);
        assertClose("dq", run.dq, want[1]);
        assertClose("dk", run.dk, want[2]);
        assertClose("dv", run.dv, want[3]);
    }

    @Test
    void blockedTrainingAttentionMatchesTheDefinitionWithGqaAndPadding() {
        int batch = 2, t = 2 * Attention.QUERY_BLOCK + 37, heads = 4, kvHeads = 2, d = 8;
        Attention.Shape s = new Attention.Shape(batch, t, t, t, 0, heads, kvHeads, d);
        float[] q = random(batch * t * heads * d, 1, 1), k = random(batch * t * kvHeads * d, 2, 1);
        float[] v = random(batch * t * kvHeads * d, 3, 1), dout = random(batch * t * heads * d, 4, 1);
        int[] mask = new int[batch * t];
        java.util.Arrays.fill(mask, 1);
        java.util.Arrays.fill(mask, t + 200, 2 * t, 0); // the second sequence is right-padded after 200 tokens
        double[][] want = reference(s, q, k, v, mask, dout);

        Run whole = run(s, q, k, v, mask, dout, 0);
        assertMatchesDefinition(whole, want);
        // three blocks (128, 128, 37 rows) see 128, 256 and 293 keys: the probabilities take that much, not t²
        long perEntry = 128L * 128 + 128L * 256 + 37L * t;
        assertThat(Attention.probsFloats(s, batch * heads)).isEqualTo(batch * heads * perEntry);
        // a row of the last block: batch 0, head 1, query 260 sums to 1 over its 261 visible keys, then zeros
        int lastBlockAt = (int) (batch * heads * (128L * 128 + 128L * 256));
        int row = lastBlockAt + (1 * 37 + (260 - 256)) * t;
        double sum = 0;
        for (int j = 0; j <= 260; j++) {
            sum += whole.probs[row + j];
        }
        assertThat(sum).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
        for (int j = 261; j < t; j++) {
            assertThat(whole.probs[row + j]).isZero();
        }

        // by KV groups (two heads at a time), probabilities recomputed in the backward: the very same bits
        Run chunked = run(s, q, k, v, mask, dout, 2);
        assertThat(chunked.out).isEqualTo(whole.out);
        assertThat(chunked.dq).isEqualTo(whole.dq);
        assertThat(chunked.dk).isEqualTo(whole.dk);
        assertThat(chunked.dv).isEqualTo(whole.dv);
    }

    @Test
    void decodingAChunkAfterACachedPrefixSeesThePrefixAndItsOwnPast() {
        // 150 new tokens at positions 100..249 of a cache of capacity 260: blocks of 128 and 22 rows see 228 and 250 keys
        int qStart = 100, tq = 150, tk = qStart + tq, cap = 260, heads = 4, kvHeads = 1, d = 8;
        Attention.Shape s = new Attention.Shape(1, tq, tk, cap, qStart, heads, kvHeads, d);
        float[] q = random(tq * heads * d, 5, 1), k = random(cap * kvHeads * d, 6, 1);
        float[] v = random(cap * kvHeads * d, 7, 1), dout = random(tq * heads * d, 8, 1);
        double[][] want = reference(s, q, k, v, null, dout);
        assertMatchesDefinition(run(s, q, k, v, null, dout, 0), want);
        assertThat(Attention.probsFloats(s, heads)).isEqualTo(heads * (128L * 228 + 22L * 250));
    }
}
