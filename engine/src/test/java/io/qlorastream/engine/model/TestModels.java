package io.qlorastream.engine.model;

import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.quant.Nf4Tensor;
import io.qlorastream.engine.tensor.DenseMatrix;
import io.qlorastream.engine.tensor.WeightMatrix;

import java.util.List;
import java.util.SplittableRandom;

/** Small random models built in memory, NF4 projections (or dense ones), for forward tests. */
final class TestModels {
    private TestModels() {
    }

    static LlamaConfig config(String arch, int vocab, int hidden, int inter, int layers, int heads, int kvHeads,
                              boolean tied, boolean attentionBias, LlamaConfig.RopeScaling scaling) {
        boolean qwen2 = arch.equals("Qwen2ForCausalLM");
        return new LlamaConfig(arch, qwen2 ? "qwen2" : "llama", vocab, hidden, inter, layers, heads, kvHeads,
                hidden / heads, 1e-5, 10000, scaling, 4096, tied, qwen2 || attentionBias, !qwen2 && attentionBias,
                false, 1, List.of(2), "float32");
    }

    static float[] random(SplittableRandom r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return a;
    }

    static LlamaWeights build(LlamaConfig c, boolean nf4, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int h = c.hiddenSize();
        WeightMatrix emb = DenseMatrix.ofFloats(random(r, c.vocabSize() * h, 1.0), c.vocabSize(), h);
        LayerWeights[] layers = new LayerWeights[c.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            layers[l] = new LayerWeights(norm(r, h),
                    linear(r, c.qDim(), h, c.qkvBias(), nf4), linear(r, c.kvDim(), h, c.qkvBias(), nf4),
                    linear(r, c.kvDim(), h, c.qkvBias(), nf4), linear(r, h, c.qDim(), c.oBias(), nf4),
                    norm(r, h),
                    linear(r, c.intermediateSize(), h, c.mlpBias(), nf4), linear(r, c.intermediateSize(), h, c.mlpBias(), nf4),
                    linear(r, h, c.intermediateSize(), c.mlpBias(), nf4));
        }
        WeightMatrix head = c.tieWordEmbeddings() ? emb : DenseMatrix.ofFloats(random(r, c.vocabSize() * h, 0.2), c.vocabSize(), h);
        return new LlamaWeights(c, emb, layers, norm(r, h), head);
    }

    static float[] norm(SplittableRandom r, int n) {
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = (float) (0.8 + 0.4 * r.nextDouble());
        }
        return w;
    }

    static Linear linear(SplittableRandom r, int out, int in, boolean bias, boolean nf4) {
        float[] w = random(r, out * in, 1.5 / Math.sqrt(in));
        WeightMatrix m = nf4 ? Nf4Tensor.quantize(w, out, in, 64, true) : DenseMatrix.ofFloats(w, out, in);
        return new Linear(m, bias ? random(r, out, 0.3) : null);
    }
}
