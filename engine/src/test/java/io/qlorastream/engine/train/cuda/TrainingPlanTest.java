package io.qlorastream.engine.train.cuda;

import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.kernels.Attention;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.lora.Rng;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The CPU-checkable half of GPU-resident training: {@link TrainingPlan}'s attention products (the exact calls
 * {@link CudaTrainingModel} hands to cuBLAS, with their offsets, strides and GQA grouping) executed by a Java
 * strided-batched sgemm reproduce {@code kernels.Attention}'s forward and backward; chunk and block sizes stay in
 * bounds; the memory plan of the 1B benchmark shape is what checkpointing promises.
 */
class TrainingPlanTest {

    /** Row-major strided-batched sgemm over one float[] "memory" (addresses are element offsets). */
    static TrainingPlan.StridedGemm on(float[] mem) {
        return (tA, tB, m, n, k, alpha, a, lda, sA, b, ldb, sB, beta, c, ldc, sC, count) -> {
            for (int i = 0; i < count; i++) {
                long ai = a + i * sA, bi = b + i * sB, ci = c + i * sC;
                for (int r = 0; r < m; r++) {
                    for (int col = 0; col < n; col++) {
                        double s = 0;
                        for (int kk = 0; kk < k; kk++) {
                            float av = tA ? mem[(int) (ai + (long) kk * lda + r)] : mem[(int) (ai + (long) r * lda + kk)];
                            float bv = tB ? mem[(int) (bi + (long) col * ldb + kk)] : mem[(int) (bi + (long) kk * ldb + col)];
                            s += (double) av * bv;
                        }
                        int at = (int) (ci + (long) r * ldc + col);
                        mem[at] = (float) (alpha * s + (beta == 0 ? 0 : beta * mem[at]));
                    }
                }
            }
        };
    }

    /** causal_softmax_forward of attention.cu, row for row (probs [batch, heads, T, T], mask [batch, T]). */
    static void softmax(float[] mem, long p, int[] mask, TrainingPlan pl) {
        int t = pl.seqLen();
        for (long r = 0; r < pl.probsFloats() / t; r++) {
            int i = (int) (r % t);
            int b = (int) (r / ((long) pl.heads() * t));
            int off = (int) (p + r * t);
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j <= i; j++) {
                if (mask[b * t + j] != 0) max = Math.max(max, mem[off + j]);
            }
            double sum = 0;
            for (int j = 0; j < t; j++) {
                if (j <= i && mask[b * t + j] != 0) {
                    float e = (float) Math.exp(mem[off + j] - max);
                    mem[off + j] = e;
                    sum += e;
                } else {
                    mem[off + j] = 0;
                }
            }
            if (sum > 0) {
                float inv = (float) (1.0 / sum);
                for (int j = 0; j <= i; j++) mem[off + j] *= inv;
            }
        }
    }

    /** causal_softmax_backward of attention.cu. */
    static void softmaxBackward(float[] mem, long dp, long p, TrainingPlan pl) {
        int t = pl.seqLen();
        for (long r = 0; r < pl.probsFloats() / t; r++) {
            int i = (int) (r % t);
            int end = Math.min(t, i + 1);
            int d = (int) (dp + r * t), o = (int) (p + r * t);
            double dot = 0;
            for (int j = 0; j < end; j++) dot += (double) mem[o + j] * mem[d + j];
            for (int j = 0; j < t; j++) {
                mem[d + j] = j < end ? (float) (mem[o + j] * (mem[d + j] - dot)) * pl.attentionScale() : 0f;
            }
        }
    }

    static float[] random(Rng r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = r.nextFloat() * 2 - 1;
        return a;
    }

    static double maxRelative(float[] got, float[] want, int from) {
        double scale = 0, max = 0;
        for (float v : want) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < want.length; i++) max = Math.max(max, Math.abs(got[from + i] - want[i]) / scale);
        return max;
    }

    @Test
    void theStridedAttentionProductsReproduceTheCpuAttentionWithGqaAndPadding() {
        int batch = 2, t = 5, heads = 6, kvHeads = 2, d = 4;
        LlamaConfig c = new LlamaConfig("LlamaForCausalLM", "llama", 50, heads * d, 40, 1, heads, kvHeads, d, 1e-5, 10000.0,
                null, 128, false, false, false, false, 1, List.of(2), "float32");
        TrainingPlan pl = TrainingPlan.of(c, 4, batch, t, true);
        int rows = batch * t, qn = rows * pl.qDim(), kn = rows * pl.kvDim(), pn = (int) pl.probsFloats();
        Rng r = new Rng(3);
        float[] q = random(r, qn), k = random(r, kn), v = random(r, kn), dOut = random(r, qn);
        int[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
        // one memory: q k v probs att dAtt dProbs dQ dK dV
        long aq = 0, ak = aq + qn, av = ak + kn, ap = av + kn, aAtt = ap + pn, adAtt = aAtt + qn, adP = adAtt + qn,
                adQ = adP + pn, adK = adQ + qn, adV = adK + kn;
        float[] mem = new float[(int) (adV + kn)];
        System.arraycopy(q, 0, mem, (int) aq, qn);
        System.arraycopy(k, 0, mem, (int) ak, kn);
        System.arraycopy(v, 0, mem, (int) av, kn);
        System.arraycopy(dOut, 0, mem, (int) adAtt, qn);
        TrainingPlan.StridedGemm g = on(mem);
        pl.attentionScores(g, 1, aq, ak, ap);
        softmax(mem, ap, mask, pl);
        pl.attentionOutput(g, 1, ap, av, aAtt);
        pl.attentionBackwardValues(g, 1, adAtt, av, ap, adP, adV);
        softmaxBackward(mem, adP, ap, pl);
        pl.attentionBackwardQueryKey(g, 1, adP, ak, aq, adQ, adK);

        Attention.Shape shape = new Attention.Shape(batch, t, t, t, 0, heads, kvHeads, d);
        float[] att = new float[qn], probs = new float[pn], dq = new float[qn], dk = new float[kn], dv = new float[kn];
        try (CpuBackend cpu = new CpuBackend(1)) {
            Attention.forward(cpu, att, probs, q, k, v, mask, shape);
            Attention.backward(cpu, dq, dk, dv, new float[pn], dOut, probs, q, k, v, shape);
        }
        assertThat(maxRelative(mem, probs, (int) ap)).isLessThan(1e-5);
        assertThat(maxRelative(mem, att, (int) aAtt)).isLessThan(1e-5);
        assertThat(maxRelative(mem, dv, (int) adV)).isLessThan(1e-5);
        assertThat(maxRelative(mem, dq, (int) adQ)).isLessThan(1e-5);
        assertThat(maxRelative(mem, dk, (int) adK)).isLessThan(1e-5);
    }

    @Test
    void lossChunksAndWeightBlocksStayInBounds() {
        assertThat(TrainingPlan.lossChunkRows(1024, 32000)).isEqualTo(524); // 2^24 / 32000
        assertThat(TrainingPlan.lossChunkRows(12, 37)).isEqualTo(12);
        assertThat(TrainingPlan.lossChunkRows(100, Integer.MAX_VALUE)).isEqualTo(1);
        assertThat(TrainingPlan.weightBlockRows(5632, 2048)).isEqualTo(5632); // a 1B MLP projection in one product
        assertThat(TrainingPlan.weightBlockRows(1 << 20, 1 << 14)).isEqualTo((1 << 25) >> 14);
        assertThat(TrainingPlan.weightBlockRows(10, 1 << 30)).isEqualTo(1);
    }

    @Test
    void theOneBillionBenchmarkShapeFitsInAFewGibibytesWithCheckpointing() {
        // ModelShape.preset("1b"): TinyLlama's shape
        LlamaConfig c = new LlamaConfig("LlamaForCausalLM", "llama", 32000, 2048, 5632, 22, 32, 4, 64, 1e-5, 10000.0, null,
                2048, false, false, false, false, 1, List.of(2), "bfloat16");
        LoraConfig lora = LoraConfig.qloraDefaults().withR(64);
        long params = LoraAdapter.zeros(lora, c).parameterCount();
        TrainingPlan cp = TrainingPlan.of(c, 64, 1, 1024, true);
        TrainingPlan full = TrainingPlan.of(c, 64, 1, 1024, false);
        // one shared set of block buffers instead of 22
        assertThat(full.activationBytes() - cp.activationBytes()).isEqualTo(4 * 21 * cp.blockFloats());
        long gib = 1L << 30;
        assertThat(cp.activationBytes()).isBetween(gib / 2, gib);
        assertThat(TrainingPlan.adapterBytes(params)).isEqualTo(16L * params + 8 * 1024);
        // [B, H, T, T] probabilities: 32 heads x 1024^2
        assertThat(cp.probsFloats()).isEqualTo(32L << 20);
        assertThat(cp.widest()).isEqualTo(c.intermediateSize());
    }
}
