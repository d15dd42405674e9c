package io.qlorastream.engine.model;

import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.kernels.CrossEntropy;
import io.qlorastream.engine.kernels.Embedding;
import io.qlorastream.engine.tensor.DenseMatrix;
import io.qlorastream.engine.tensor.WeightMatrix;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole-model backward (every block kind chained: cross-entropy, lm_head, norms, SwiGLU, NF4 linears, GQA attention
 * with a padding mask, RoPE, residuals, embedding) against central finite differences of the mean loss. fp32 model:
 * loss ≈ 3.6 carries ≈ 1e-6 relative rounding, so with h = 2e-2 the numeric derivative is good to ≈ 2e-4;
 * accepted: |analytic − numeric| ≤ 5e-4 + 2e-2·|numeric|.
 */
class LlamaBackwardTest {

    @Test
    void gradientsOfTheEmbeddingTableAndFinalNormMatchFiniteDifferences() {
        LlamaConfig c = TestModels.config("Qwen2ForCausalLM", 19, 16, 24, 2, 4, 2, false, false,
                new LlamaConfig.RopeScaling("llama3", 8, 1, 4, 16));
        LlamaWeights base = TestModels.build(c, true, 21);
        float[] table = new float[c.vocabSize() * c.hiddenSize()];
        base.tokenEmbedding.dequantizeRows(0, c.vocabSize(), table, 0);
        WeightMatrix emb = DenseMatrix.ofFloats(table, c.vocabSize(), c.hiddenSize());
        LlamaWeights w = new LlamaWeights(c, emb, base.layers, base.finalNorm, base.lmHead);

        int batch = 2, t = 5;
        int[] tokens = {3, 7, 1, 18, 7, 5, 2, 9, 0, 0};
        int[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
        int[] labels = {-100, 7, 1, 18, 7, -100, 2, 9, -100, -100};
        int[] targets = CrossEntropy.shiftLabels(labels, batch, t);
        try (CpuBackend be = new CpuBackend(2)) {
            LlamaModel model = new LlamaModel(w, be);
            LlamaModel.Activations acts = model.allocate(batch, t, true);
            LlamaModel.Gradients g = model.allocateGradients(batch, t);
            java.util.function.DoubleSupplier loss = () -> {
                model.forward(acts, tokens, mask, batch, t);
                return model.lossAndBackward(acts, g, targets);
            };
            loss.getAsDouble();
            float[] dTable = new float[table.length];
            Embedding.backward(dTable, g.dEmbedded, tokens, batch * t, c.hiddenSize());
            float[] dNorm = g.dFinalNorm.clone();

            check("final norm", w.finalNorm, dNorm, loss);
            check("embedding table", table, dTable, loss);
            float max = 0;
            for (float v : dTable) {
                max = Math.max(max, Math.abs(v));
            }
            assertThat(max).as("gradients large enough to be checked").isGreaterThan(1e-2f);
            // padding positions and unused tokens get no gradient
            for (int j = 0; j < c.hiddenSize(); j++) {
                assertThat(dTable[11 * c.hiddenSize() + j]).isZero();
            }
        }
    }

    static void check(String what, float[] x, float[] analytic, java.util.function.DoubleSupplier loss) {
        float h = 2e-2f;
        for (int i = 0; i < x.length; i++) {
            float saved = x[i];
            x[i] = saved + h;
            double plus = loss.getAsDouble();
            x[i] = saved - h;
            double minus = loss.getAsDouble();
            x[i] = saved;
            double numeric = (plus - minus) / (2 * h);
            assertThat(Math.abs(analytic[i] - numeric)).as("%s[%d]: analytic %s numeric %s", what, i, analytic[i], numeric)
                    .isLessThanOrEqualTo(5e-4 + 2e-2 * Math.abs(numeric));
        }
    }
}
