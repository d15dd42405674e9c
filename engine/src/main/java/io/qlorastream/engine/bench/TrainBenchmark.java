package io.qlorastream.engine.bench;

import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.config.Projection;
import io.qlorastream.engine.data.TokenizedExample;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.lora.LoraModule;
import io.qlorastream.engine.model.LayerWeights;
import io.qlorastream.engine.model.LlamaModel;
import io.qlorastream.engine.optim.AdamW;
import io.qlorastream.engine.optim.GradClip;
import io.qlorastream.engine.optim.LrSchedule;
import io.qlorastream.engine.train.Trainer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Training throughput of full QLoRA optimizer steps (forward, loss, backward through the frozen NF4 weights with the
 * LoRA gradients, clipping, AdamW) on random tokens, compared with OpenBLAS sgemm measured in the same run. Model FLOPs
 * per step count what training needs, not what this implementation spends (PaLM's "model FLOPs", for a frozen base):
 * <ul>
 *   <li>frozen products (projections, lm_head): the forward and its input gradient, 2× the forward (a frozen weight
 *       has no weight gradient);</li>
 *   <li>attention (q·kᵀ and p·v over the causal half of the square): the forward and the backward's four products
 *       (dp, dv, dq, dk), 3× the forward;</li>
 *   <li>LoRA (A and B of every targeted projection): the forward, the input gradients and the weight gradients, 3× the
 *       forward.</li>
 * </ul>
 * The recompute of activation checkpointing is not counted. Not a test: the figures are reported, not asserted.
 */
public final class TrainBenchmark {

    public record Result(int batch, int seqLen, int threads, boolean checkpointing, int adapterParameters, int steps,
                         double secondsPerStep, double tokensPerSecond, double frozenFlopsPerStep,
                         double attentionFlopsPerStep, double loraFlopsPerStep, double flopsPerStep, double gflops,
                         double sgemmGflopsOneThread, double sgemmGflopsAllThreads, String sgemmShape, long peakRssBytes) {
        public double sgemmGflops() {
            return Math.max(sgemmGflopsOneThread, sgemmGflopsAllThreads);
        }

        public double fractionOfPeak() {
            return gflops / sgemmGflops();
        }
    }

    private TrainBenchmark() {
    }

    /** One warm-up step, then {@code steps} timed steps of one micro-batch of [batch, seqLen] tokens each. */
    public static Result run(LlamaModel model, LoraConfig lora, int batch, int seqLen, int steps, boolean checkpointing)
            throws IOException {
        LlamaConfig c = model.config();
        SplittableRandom rnd = new SplittableRandom(11);
        List<TokenizedExample> examples = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            int[] ids = new int[seqLen];
            for (int i = 0; i < seqLen; i++) {
                ids[i] = rnd.nextInt(c.vocabSize());
            }
            examples.add(new TokenizedExample(ids, ids.clone()));
        }
        LoraAdapter adapter = LoraAdapter.initialize(lora, c, 1);
        Trainer.Settings s = new Trainer.Settings(batch, 1, seqLen, steps + 1, 0, 1, LrSchedule.Kind.CONSTANT, 2e-4, 0, 0,
                AdamW.Config.qlora(), GradClip.QLORA_MAX_NORM, 0, checkpointing);
        Trainer trainer = new Trainer(model, adapter, examples, s);
        double[] afterWarmup = new double[1];
        double[] afterLast = new double[1];
        trainer.run(null, m -> {
            if (m.step() == 1) {
                afterWarmup[0] = m.elapsedSeconds();
            }
            afterLast[0] = m.elapsedSeconds();
        });
        // from the end of the warm-up step to the end of the last step: not the copy of the adapter back to the host
        // that ends a run (a GPU-resident engine's 16 bytes per adapter parameter)
        double secondsPerStep = (afterLast[0] - afterWarmup[0]) / steps;
        // the training's peak, read before the sgemm reference allocates its own operands (about 100 MB on a 1B model)
        long peakRss = ProcessMemory.peakRssBytes();

        long linearParams = 0;
        for (LayerWeights lw : model.weights().layers) {
            for (Projection p : Projection.values()) {
                linearParams += (long) lw.projection(p).inFeatures() * lw.projection(p).outFeatures();
            }
        }
        long loraParams = 0;
        for (LoraModule m : adapter.modules()) {
            loraParams += (long) m.r * (m.in + m.out);
        }
        int rows = batch * seqLen;
        double frozenForward = 2.0 * rows * (linearParams + (long) c.vocabSize() * c.hiddenSize());
        double attentionForward = batch * 2.0 * 2.0 * c.numLayers() * c.numHeads() * c.headDim() * (seqLen * (seqLen + 1) / 2.0);
        double loraForward = 2.0 * rows * loraParams;
        double frozen = 2 * frozenForward;
        double attention = 3 * attentionForward;
        double loraFlops = 3 * loraForward;
        double flops = frozen + attention + loraFlops;
        int threads = model.backend().threads();
        int n = Math.max(c.intermediateSize(), c.hiddenSize());
        double peakOne = CpuBackend.sgemmGflops(rows, n, c.hiddenSize(), 1, 3);
        double peakAll = threads == 1 ? peakOne : CpuBackend.sgemmGflops(rows, n, c.hiddenSize(), threads, 3);
        return new Result(batch, seqLen, threads, checkpointing, adapter.parameterCount(), steps, secondsPerStep,
                rows / secondsPerStep, frozen, attention, loraFlops, flops, flops / secondsPerStep / 1e9, peakOne, peakAll,
                rows + "x" + n + "x" + c.hiddenSize(), peakRss);
    }
}
