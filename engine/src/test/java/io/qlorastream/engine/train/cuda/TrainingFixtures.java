package io.qlorastream.engine.train.cuda;

import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.kernels.CrossEntropy;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.lora.LoraDropout;
import io.qlorastream.engine.lora.Rng;
import io.qlorastream.engine.model.LayerWeights;
import io.qlorastream.engine.model.Linear;
import io.qlorastream.engine.model.LlamaWeights;
import io.qlorastream.engine.optim.AdamW;
import io.qlorastream.engine.quant.Nf4Tensor;
import io.qlorastream.engine.tensor.DenseMatrix;
import io.qlorastream.engine.tensor.Floats;
import io.qlorastream.engine.train.engine.TrainingEngine;

import java.util.List;
import java.util.SplittableRandom;

/**
 * The small NF4 model, adapter, micro-batches and training loop with which GPU-resident training is compared with the
 * CPU engine (on an emulated device in CI, on the GPU by GpuCheck). Dense weights (embeddings, lm_head) hold values a
 * BF16 checkpoint can hold, as a real model's do, so keeping them in bf16 on the GPU loses nothing. Projections are
 * drawn U(±0.7/sqrt(in)): with larger ones this tiny model's attention gets sharp and bf16 rounding of its forward
 * moves some gradient tensors by up to 3.5 % (measured on the emulated device at 1.5/sqrt(in)), which says more about
 * the model's conditioning than about the code; at 0.7 the bf16 gradients stay within 0.7 % of fp32. A tied table is
 * drawn smaller (±0.3) for the same reason: it is also lm_head, and ±1.0 logits make the softmax sharp.
 */
final class TrainingFixtures {
    static final double PROJECTION_SCALE = 0.7;

    private TrainingFixtures() {
    }

    static LlamaConfig config(boolean tied, boolean biases) {
        // hidden 24, 3 layers, 4 heads of 6, 2 KV heads (GQA), intermediate 40, vocab 100
        return new LlamaConfig("LlamaForCausalLM", "llama", 100, 24, 40, 3, 4, 2, 6, 1e-5, 10000.0, null, 128, tied, biases,
                false, biases, 1, List.of(2), "float32");
    }

    static float[] random(SplittableRandom r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        return a;
    }

    static Linear linear(SplittableRandom r, int out, int in, boolean bias) {
        io.qlorastream.engine.tensor.WeightMatrix m = Nf4Tensor.quantize(random(r, out * in, PROJECTION_SCALE / Math.sqrt(in)), out, in, 64, true);
        return new Linear(m, bias ? random(r, out, 0.3) : null);
    }

    static float[] norm(SplittableRandom r, int n) {
        float[] w = new float[n];
        for (int i = 0; i < n; i++) w[i] = (float) (0.8 + 0.4 * r.nextDouble());
        return w;
    }

    /** Values a BF16 checkpoint can hold: what a real model's embeddings and lm_head are, on the GPU and the CPU alike. */
    static float[] bf16Values(float[] a) {
        for (int i = 0; i < a.length; i++) a[i] = Floats.bf16ToFloat(Floats.floatToBf16(a[i]));
        return a;
    }

    static LlamaWeights weights(LlamaConfig c) {
        SplittableRandom r = new SplittableRandom(42);
        int h = c.hiddenSize();
        io.qlorastream.engine.tensor.WeightMatrix emb = DenseMatrix.ofFloats(bf16Values(random(r, c.vocabSize() * h, c.tieWordEmbeddings() ? 0.3 : 1.0)), c.vocabSize(), h);
        LayerWeights[] layers = new LayerWeights[c.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            layers[l] = new LayerWeights(norm(r, h), linear(r, c.qDim(), h, c.qkvBias()), linear(r, c.kvDim(), h, c.qkvBias()),
                    linear(r, c.kvDim(), h, c.qkvBias()), linear(r, h, c.qDim(), c.oBias()), norm(r, h),
                    linear(r, c.intermediateSize(), h, c.mlpBias()), linear(r, c.intermediateSize(), h, c.mlpBias()),
                    linear(r, h, c.intermediateSize(), c.mlpBias()));
        }
        io.qlorastream.engine.tensor.WeightMatrix head = c.tieWordEmbeddings() ? emb : DenseMatrix.ofFloats(bf16Values(random(r, c.vocabSize() * h, 0.2)), c.vocabSize(), h);
        return new LlamaWeights(c, emb, layers, norm(r, h), head);
    }

    static LoraAdapter adapter(LlamaConfig c, double dropout) {
        LoraAdapter a = LoraAdapter.initialize(new LoraConfig(4, 8, dropout, LoraConfig.ALL_TARGETS, false), c, 4);
        Rng r = new Rng(8);
        for (int i = 0; i < a.params.length; i++) a.params[i] = (r.nextFloat() - 0.5f) * 0.6f;
        return a;
    }

    /** A micro-batch: [batch, t] right-padded tokens, mask, shifted targets. */
    record Micro(int batch, int t, int[] tokens, int[] mask, int[] targets) {
        static Micro of(int batch, int t, long seed) {
            Rng r = new Rng(seed);
            int[] tokens = new int[batch * t], mask = new int[batch * t], labels = new int[batch * t];
            for (int b = 0; b < batch; b++) {
                int len = b == 0 ? t : Math.max(2, t - 2 - b); // later rows padded
                for (int i = 0; i < t; i++) {
                    boolean real = i < len;
                    tokens[b * t + i] = real ? r.nextInt(100) : 0;
                    mask[b * t + i] = real ? 1 : 0;
                    labels[b * t + i] = real && i > 0 ? tokens[b * t + i] : CrossEntropy.IGNORE;
                }
            }
            return new Micro(batch, t, tokens, mask, CrossEntropy.shiftLabels(labels, batch, t));
        }

        int targetCount() {
            int n = 0;
            for (int x : targets) n += x == CrossEntropy.IGNORE ? 0 : 1;
            return n;
        }
    }

    record Run(double[] losses, float[] firstGrads, float[] params, float[] expAvg, float[] expAvgSq, long steps) {
    }

    /** Steps of two micro-batches of different shapes each (accumulated), clipped, AdamW. */
    static Run train(TrainingEngine e, LoraAdapter adapter, double dropoutP, int steps) {
        return train(e, adapter, dropoutP, steps, Micro.of(2, 7, 5), Micro.of(3, 5, 6));
    }

    static Run train(TrainingEngine e, LoraAdapter adapter, double dropoutP, int steps, Micro m1, Micro m2) {
        float w = 1f / (m1.targetCount() + m2.targetCount());
        LoraDropout dropout = new LoraDropout(dropoutP, 17);
        AdamW opt = new AdamW(AdamW.Config.torchDefaults(), adapter.parameterCount());
        e.load(adapter, opt, dropout);
        double[] losses = new double[steps];
        float[] first = null;
        for (int s = 0; s < steps; s++) {
            e.zeroGrads();
            for (Micro m : new Micro[]{m1, m2}) {
                losses[s] += e.accumulate(m.tokens(), m.mask(), m.targets(), m.batch(), m.t(), w);
                dropout.nextMicroBatch();
            }
            if (s == 0) {
                e.store();
                first = adapter.grads.clone();
            }
            e.clipAndStep(0.5, 1e-2);
        }
        e.store();
        return new Run(losses, first, adapter.params.clone(), opt.expAvg().clone(), opt.expAvgSq().clone(), opt.stepCount());
    }

    static double relative(float[] got, float[] want, int from, int n) {
        double diff = 0, norm = 0;
        for (int i = from; i < from + n; i++) {
            diff += (double) (got[i] - want[i]) * (got[i] - want[i]);
            norm += (double) want[i] * want[i];
        }
        return Math.sqrt(diff) / Math.sqrt(norm);
    }

    static Run[] cpuVsGpu(LlamaConfig c, double dropout, int steps, java.util.function.Function<LlamaWeights, TrainingEngine> gpu) {
        return cpuVsGpu(c, dropout, steps, gpu, Micro.of(2, 7, 5), Micro.of(3, 5, 6));
    }

    static Run[] cpuVsGpu(LlamaConfig c, double dropout, int steps, java.util.function.Function<LlamaWeights, TrainingEngine> gpu,
                          Micro m1, Micro m2) {
        LlamaWeights w = weights(c);
        Run cpu;
        try (io.qlorastream.engine.compute.CpuBackend be = new io.qlorastream.engine.compute.CpuBackend(1);
             TrainingEngine e = new io.qlorastream.engine.train.engine.CpuTrainingEngine(new io.qlorastream.engine.model.LlamaModel(w, be), true)) {
            cpu = train(e, adapter(c, dropout), dropout, steps, m1, m2);
        }
        Run onGpu;
        try (TrainingEngine e = gpu.apply(w)) {
            onGpu = train(e, adapter(c, dropout), dropout, steps, m1, m2);
        }
        return new Run[]{cpu, onGpu};
    }
}
