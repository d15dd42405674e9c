package io.qlorastream.engine.model;

import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.kernels.CrossEntropy;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.lora.LoraDropout;
import io.qlorastream.engine.lora.Rng;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Training buffers never hold all logits: lm_head, the loss and their backward run a chunk of rows at a time. The
 * chunks (including a short last one) must give the loss and gradients of the whole-logits path: every row's logits
 * are the same dot products, only the number of rows per sgemm call differs, so the only allowed difference is the
 * rounding of a differently blocked product (relative 1e-5 here, far below what a wrong row offset would cause).
 * Attention computed by KV groups with the probabilities recomputed in the backward gives the very same bits.
 */
class LossChunkTest {

    @Test
    void chunkedLossAndGradientsEqualTheWholeLogitsPath() {
        LlamaConfig c = TestModels.config("LlamaForCausalLM", 37, 16, 24, 2, 4, 2, false, false, null);
        LlamaWeights w = TestModels.build(c, true, 31);
        LoraAdapter adapter = LoraAdapter.initialize(new LoraConfig(3, 6, 0.1, LoraConfig.ALL_TARGETS, false), c, 4);
        Rng r = new Rng(5);
        for (int i = 0; i < adapter.params.length; i++) {
            adapter.params[i] = (r.nextFloat() - 0.5f) * 0.6f;
        }
        int batch = 2, t = 7;
        int[] tokens = new int[batch * t];
        int[] labels = new int[batch * t];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = r.nextInt(c.vocabSize());
            labels[i] = i % t < 2 ? CrossEntropy.IGNORE : tokens[i];
        }
        int[] mask = new int[batch * t];
        java.util.Arrays.fill(mask, 1);
        mask[batch * t - 1] = 0; // one padded position
        labels[batch * t - 1] = CrossEntropy.IGNORE;
        int[] targets = CrossEntropy.shiftLabels(labels, batch, t);
        try (CpuBackend be = new CpuBackend(2)) {
            LlamaModel model = new LlamaModel(w, be);
            LoraDropout dropout = new LoraDropout(0.1, 3);
            model.attachLora(adapter, dropout);
            LlamaModel.Gradients g = model.allocateGradients(batch, t);

            LlamaModel.Activations whole = model.allocate(batch, t, true);
            adapter.zeroGrads();
            model.forward(whole, tokens, mask, batch, t);
            double expected = model.lossAndBackward(whole, g, targets);
            float[] expectedGrads = adapter.grads.clone();
            float[] expectedEmb = g.dEmbedded.clone();
            float[] expectedLosses = g.losses.clone();

            for (boolean checkpoint : new boolean[]{true, false}) {
                LlamaModel.Activations chunked = model.allocateTraining(batch, t, checkpoint, 4, Long.MAX_VALUE); // 14 rows: 4+4+4+2
                assertThat(chunked.lossChunked).isTrue();
                assertThat(chunked.logits).hasSize(4 * c.vocabSize());
                adapter.zeroGrads();
                model.forward(chunked, tokens, mask, batch, t);
                double loss = model.lossAndBackward(chunked, g, targets);
                assertThat(loss).as("checkpoint %s", checkpoint).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-5 * expected));
                for (int i = 0; i < expectedLosses.length; i++) {
                    assertThat(g.losses[i]).as("row %d loss", i)
                            .isCloseTo(expectedLosses[i], org.assertj.core.data.Offset.offset(1e-5f * Math.max(1f, expectedLosses[i])));
                }
                assertClose(adapter.grads, expectedGrads, "adapter grads");
                assertClose(g.dEmbedded, expectedEmb, "embedding grads");

                // attention by KV groups (2 of the 4 heads at a time, 2 query heads per KV head), probabilities
                // recomputed in the backward: the same products and softmax per head, so the very same bits
                LlamaModel.Activations byGroups = model.allocateTraining(batch, t, checkpoint, 4, 2L * t * t);
                assertThat(byGroups.layers[0].attentionChunkHeads).isEqualTo(2);
                assertThat(byGroups.layers[0].probs).hasSize(2 * t * t);
                float[] chunkedGrads = adapter.grads.clone();
                float[] chunkedEmb = g.dEmbedded.clone();
                adapter.zeroGrads();
                model.forward(byGroups, tokens, mask, batch, t);
                assertThat(model.lossAndBackward(byGroups, g, targets)).isEqualTo(loss);
                assertThat(adapter.grads).isEqualTo(chunkedGrads);
                assertThat(g.dEmbedded).isEqualTo(chunkedEmb);
            }
        }
    }

    private static void assertClose(float[] actual, float[] expected, String what) {
        float max = 0;
        for (float v : expected) max = Math.max(max, Math.abs(v));
        assertThat(max).as(what + " not all zero").isGreaterThan(0f);
        for (int i = 0; i < expected.length; i++) {
            assertThat(Math.abs(actual[i] - expected[i])).as("%s[%d]", what, i).isLessThanOrEqualTo(1e-5f * max);
        }
    }
}
