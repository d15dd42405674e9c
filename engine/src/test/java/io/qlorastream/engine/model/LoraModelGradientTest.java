package io.qlorastream.engine.model;

import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.kernels.CrossEntropy;
import io.qlorastream.engine.kernels.Embedding;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.lora.LoraDropout;
import io.qlorastream.engine.lora.Rng;
import io.qlorastream.engine.tensor.DenseMatrix;
import io.qlorastream.engine.tensor.WeightMatrix;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole model's LoRA gradients (all seven projections of every layer, dropout on, padding mask) against central
 * finite differences of the mean loss, plus the LoRA path's dx contribution through the embedding gradient. Same fp32
 * tolerance argument as {@link LlamaBackwardTest}: loss ≈ 3 carries ≈ 1e-6 relative rounding, h = 2e-2 gives a numeric
 * derivative good to ≈ 2e-4; accepted |analytic − numeric| ≤ 5e-4 + 2e-2·|numeric|.
 */
class LoraModelGradientTest {

    @Test
    void adapterAndEmbeddingGradientsMatchFiniteDifferences() {
        LlamaConfig c = TestModels.config("Qwen2ForCausalLM", 19, 16, 24, 2, 4, 2, false, false, null);
        LlamaWeights base = TestModels.build(c, true, 23);
        float[] table = new float[c.vocabSize() * c.hiddenSize()];
        base.tokenEmbedding.dequantizeRows(0, c.vocabSize(), table, 0);
        WeightMatrix emb = DenseMatrix.ofFloats(table, c.vocabSize(), c.hiddenSize());
        LlamaWeights w = new LlamaWeights(c, emb, base.layers, base.finalNorm, base.lmHead);

        LoraAdapter adapter = LoraAdapter.initialize(new LoraConfig(3, 6, 0.2, LoraConfig.ALL_TARGETS, false), c, 4);
        Rng r = new Rng(8);
        for (int i = 0; i < adapter.params.length; i++) {
            adapter.params[i] = (r.nextFloat() - 0.5f) * 0.6f;
        }
        LoraDropout dropout = new LoraDropout(0.2, 99);
        dropout.nextMicroBatch();

        int batch = 2, t = 5;
        int[] tokens = {3, 7, 1, 18, 7, 5, 2, 9, 0, 0};
        int[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
        int[] labels = {-100, 7, 1, 18, 7, -100, 2, 9, -100, -100};
        int[] targets = CrossEntropy.shiftLabels(labels, batch, t);
        try (CpuBackend be = new CpuBackend(2)) {
            LlamaModel model = new LlamaModel(w, be);
            model.attachLora(adapter, dropout);
            LlamaModel.Activations acts = model.allocate(batch, t, true);
            LlamaModel.Gradients g = model.allocateGradients(batch, t);
            java.util.function.DoubleSupplier loss = () -> {
                adapter.zeroGrads();
                model.forward(acts, tokens, mask, batch, t);
                return model.lossAndBackward(acts, g, targets);
            };
            loss.getAsDouble();
            float[] dAdapter = adapter.grads.clone();
            float[] dTable = new float[table.length];
            Embedding.backward(dTable, g.dEmbedded, tokens, batch * t, c.hiddenSize());

            float max = 0;
            for (float v : dAdapter) max = Math.max(max, Math.abs(v));
            assertThat(max).as("gradients large enough to be checked").isGreaterThan(1e-2f);
            LlamaBackwardTest.check("adapter", adapter.params, dAdapter, loss);
            LlamaBackwardTest.check("embedding table", table, dTable, loss);

            // activation checkpointing (block inputs kept, blocks recomputed in the backward) gives the same bits
            LlamaModel.Activations ck = model.allocateTraining(batch, t, true);
            assertThat(ck.layers[0]).isSameAs(ck.layers[1]);
            adapter.zeroGrads();
            model.forward(acts, tokens, mask, batch, t);
            double full = model.lossAndBackward(acts, g, targets);
            float[] fullGrads = adapter.grads.clone();
            float[] fullEmb = g.dEmbedded.clone();
            adapter.zeroGrads();
            model.forward(ck, tokens, mask, batch, t);
            double recomputed = model.lossAndBackward(ck, g, targets);
            assertThat(recomputed).isEqualTo(full);
            assertThat(adapter.grads).isEqualTo(fullGrads);
            assertThat(g.dEmbedded).isEqualTo(fullEmb);

            // the LoRA term changes the loss at all (B ≠ 0) and detaching restores the base model
            model.forward(acts, tokens, mask, batch, t);
            double withLora = model.lossAndBackward(acts, g, targets);
            model.attachLora(null, null);
            model.forward(acts, tokens, mask, batch, t);
            double without = model.lossAndBackward(acts, g, targets);
            assertThat(Math.abs(withLora - without)).isGreaterThan(1e-3);
        }
    }
}
