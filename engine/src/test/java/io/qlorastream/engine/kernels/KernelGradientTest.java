package io.qlorastream.engine.kernels;

import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.model.Linear;
import io.qlorastream.engine.model.LinearLayer;
import io.qlorastream.engine.quant.Nf4Tensor;
import io.qlorastream.engine.tensor.DenseMatrix;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every backward against central finite differences of its forward. The kernels compute in fp32, so the check uses
 * the scalar L = Σ out·g (g fixed random), step h = 1e-2 (central differences: truncation O(h²) ≈ 1e-4 for these
 * smooth functions; fp32 rounding of L ≈ 1e-6 / 2h ≈ 5e-5) and accepts |analytic − numeric| ≤ 2e-3 + 1e-2·|numeric|.
 */
class KernelGradientTest {
    static CpuBackend be;

    @BeforeAll
    static void start() {
        be = new CpuBackend(2);
    }

    @AfterAll
    static void stop() {
        be.close();
    }

    static float[] random(int n, long seed, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return a;
    }

    static double dot(float[] a, float[] g) {
        double s = 0;
        for (int i = 0; i < g.length; i++) {
            s += (double) a[i] * g[i];
        }
        return s;
    }

    /** Compares analytic[i] with (L(x+h e_i) − L(x−h e_i)) / 2h for every i; loss re-runs the forward on x. */
    static void check(String what, float[] x, float[] analytic, Supplier<Double> loss) {
        float h = 1e-2f;
        for (int i = 0; i < x.length; i++) {
            float saved = x[i];
            x[i] = saved + h;
            double plus = loss.get();
            x[i] = saved - h;
            double minus = loss.get();
            x[i] = saved;
            double numeric = (plus - minus) / (2 * h);
            assertThat(Math.abs(analytic[i] - numeric))
                    .as("%s: d/d[%d] analytic %s numeric %s", what, i, analytic[i], numeric)
                    .isLessThanOrEqualTo(2e-3 + 1e-2 * Math.abs(numeric));
        }
    }

    @Test
    void rmsNorm() {
        int n = 3, c = 7;
        float[] x = random(n * c, 1, 1);
        float[] w = random(c, 2, 1);
        float[] g = random(n * c, 3, 1);
        float[] out = new float[n * c];
        float[] rstd = new float[n];
        Supplier<Double> loss = () -> {
            RmsNorm.forward(be, out, rstd, x, w, n, c, 1e-5);
            return dot(out, g);
        };
        loss.get();
        float[] dx = new float[n * c];
        float[] dw = new float[c];
        RmsNorm.backward(be, dx, dw, g, x, w, rstd, n, c);
        check("rmsnorm dx", x, dx, loss);
        check("rmsnorm dw", w, dw, loss);
    }

    @Test
    void swiGlu() {
        int n = 40;
        float[] gate = random(n, 4, 3);
        float[] up = random(n, 5, 2);
        float[] g = random(n, 6, 1);
        float[] out = new float[n];
        Supplier<Double> loss = () -> {
            SwiGlu.forward(be, out, gate, up, n);
            return dot(out, g);
        };
        float[] dgate = new float[n];
        float[] dup = new float[n];
        SwiGlu.backward(be, dgate, dup, g, gate, up, n);
        check("swiglu dgate", gate, dgate, loss);
        check("swiglu dup", up, dup, loss);
    }

    @Test
    void residualAndEmbedding() {
        int n = 10;
        float[] a = random(n, 7, 1);
        float[] b = random(n, 8, 1);
        float[] g = random(n, 9, 1);
        float[] out = new float[n];
        Supplier<Double> loss = () -> {
            Residual.forward(out, a, b, n);
            return dot(out, g);
        };
        float[] da = new float[n];
        float[] db = new float[n];
        Residual.backward(da, db, g, n);
        check("residual da", a, da, loss);
        check("residual db", b, db, loss);

        int vocab = 5, c = 3;
        float[] table = random(vocab * c, 10, 1);
        int[] tokens = {4, 1, 4, 0};
        float[] emb = new float[tokens.length * c];
        float[] ge = random(tokens.length * c, 11, 1);
        Supplier<Double> embLoss = () -> {
            Embedding.forward(emb, tokens, tokens.length, DenseMatrix.ofFloats(table, vocab, c));
            return dot(emb, ge);
        };
        float[] dtable = new float[vocab * c];
        Embedding.backward(dtable, ge, tokens, tokens.length, c);
        check("embedding", table, dtable, embLoss);
    }

    @Test
    void linearGivesTheInputGradientThroughTheDequantizedNf4Weight() {
        int m = 3, in = 20, out = 9;
        Linear layer = new Linear(Nf4Tensor.quantize(random(out * in, 12, 1), out, in, 64, true), random(out, 13, 1));
        float[] x = random(m * in, 14, 1);
        float[] g = random(m * out, 15, 1);
        float[] y = new float[m * out];
        Supplier<Double> loss = () -> {
            LinearLayer.forward(be, y, x, m, layer);
            return dot(y, g);
        };
        float[] dx = new float[m * in];
        LinearLayer.backward(be, dx, g, m, layer);
        check("linear dx", x, dx, loss);
    }

    @Test
    void ropeWithLlama3Scaling() {
        LlamaConfig cfg = new LlamaConfig("LlamaForCausalLM", "llama", 10, 16, 8, 1, 2, 1, 8, 1e-5, 500000,
                new LlamaConfig.RopeScaling("llama3", 8, 1, 4, 32), 1024, false, false, false, false, null, List.of(), "float32");
        Rope rope = Rope.of(cfg);
        int n = 3, heads = 2;
        int[] pos = {0, 5, 17};
        float[] x = random(n * heads * 8, 16, 1);
        float[] g = random(x.length, 17, 1);
        Supplier<Double> loss = () -> {
            float[] y = x.clone();
            rope.forward(be, y, pos, n, heads);
            return dot(y, g);
        };
        float[] dx = g.clone();
        rope.backward(be, dx, pos, n, heads);
        check("rope", x, dx, loss);
    }

    @Test
    void causalGqaAttentionWithPaddingMask() {
        int batch = 2, t = 4, heads = 4, kvHeads = 2, d = 3;
        Attention.Shape s = new Attention.Shape(batch, t, t, t, 0, heads, kvHeads, d);
        float[] q = random(batch * t * heads * d, 18, 1);
        float[] k = random(batch * t * kvHeads * d, 19, 1);
        float[] v = random(batch * t * kvHeads * d, 20, 1);
        int[] mask = {1, 1, 1, 1, 1, 1, 0, 0}; // second sequence right-padded after 2 tokens
        float[] g = random(q.length, 21, 1);
        float[] out = new float[q.length];
        float[] probs = new float[batch * heads * t * t];
        Supplier<Double> loss = () -> {
            Attention.forward(be, out, probs, q, k, v, mask, s);
            return dot(out, g);
        };
        loss.get();
        float[] dq = new float[q.length];
        float[] dk = new float[k.length];
        float[] dv = new float[v.length];
        Attention.backward(be, dq, dk, dv, new float[probs.length], g, probs, q, k, v, s);
        check("attention dq", q, dq, loss);
        check("attention dk", k, dk, loss);
        check("attention dv", v, dv, loss);
        // padded keys get no gradient, and no query sees the future
        for (int j = 2 * kvHeads * d; j < t * kvHeads * d; j++) {
            assertThat(dk[t * kvHeads * d + j]).isZero();
        }
        assertThat(probs[1]).isZero(); // batch 0, head 0, query 0 cannot see key 1
    }

    @Test
    void crossEntropyOverTargetsOnly() {
        int n = 4, vocab = 6;
        float[] logits = random(n * vocab, 22, 2);
        int[] targets = {3, CrossEntropy.IGNORE, 0, 5};
        float[] dloss = {0.25f, 0.25f, 0.25f, 0.25f};
        float[] losses = new float[n];
        float[] probs = new float[n * vocab];
        Supplier<Double> loss = () -> {
            CrossEntropy.forward(be, losses, probs, logits, targets, n, vocab);
            double s = 0;
            for (int i = 0; i < n; i++) {
                s += losses[i] * dloss[i];
            }
            return s;
        };
        loss.get();
        assertThat(losses[1]).isZero();
        float[] dlogits = new float[n * vocab];
        CrossEntropy.backward(be, dlogits, probs, targets, dloss, n, vocab);
        check("cross-entropy", logits, dlogits, loss);
    }

    @Test
    void labelsShiftByOne() {
        int[] labels = {-100, 7, 8, 9, -100, 1};
        assertThat(CrossEntropy.shiftLabels(labels, 2, 3)).containsExactly(7, 8, -100, -100, 1, -100);
    }
}
