package io.qlorastream.engine.bench;

import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.config.Projection;
import io.qlorastream.engine.model.LayerWeights;
import io.qlorastream.engine.model.Linear;
import io.qlorastream.engine.model.LlamaModel;
import io.qlorastream.engine.quant.Nf4Tensor;

import java.util.SplittableRandom;

/**
 * Prefill and decode throughput of the forward pass, compared with OpenBLAS sgemm on this machine in the same run
 * (a product of the size of the model's largest projections at the prefill length, OpenBLAS on one thread and threaded
 * over the same number of threads; the better of the two is the peak). Not a test: the figures are reported, not asserted.
 */
public final class ForwardBenchmark {

    /**
     * @param prefillFlops       useful matrix-product FLOPs of one prefill: projections, lm_head, causal attention
     * @param quantizedBytesPerParameter resident bytes of the NF4 projections per quantized parameter (NaN when none)
     */
    public record Result(int seqLen, int threads, double prefillSeconds, double prefillTokensPerSecond,
                         double prefillFlops, double prefillGflops, int decodeTokens, double decodeTokensPerSecond,
                         double sgemmGflopsOneThread, double sgemmGflopsAllThreads, String sgemmShape, long weightBytes, long quantizedParameters,
                         double quantizedBytesPerParameter, long peakRssBytes) {
        /** The baseline: the better of OpenBLAS on one thread and on all threads (threads can lose on a busy machine). */
        public double sgemmGflops() {
            return Math.max(sgemmGflopsOneThread, sgemmGflopsAllThreads);
        }

        public double fractionOfPeak() {
            return prefillGflops / sgemmGflops();
        }
    }

    private ForwardBenchmark() {
    }

    public static Result run(LlamaModel model, int seqLen, int decodeTokens, int repeats) {
        LlamaConfig c = model.config();
        int threads = model.backend().threads();
        SplittableRandom rnd = new SplittableRandom(7);
        int[] tokens = new int[seqLen];
        for (int i = 0; i < seqLen; i++) {
            tokens[i] = rnd.nextInt(c.vocabSize());
        }
        LlamaModel.Activations acts = model.allocate(1, seqLen, false);
        model.forward(acts, tokens, null, 1, seqLen); // warm-up: JIT, native buffers
        long best = Long.MAX_VALUE;
        for (int r = 0; r < repeats; r++) {
            long t0 = System.nanoTime();
            model.forward(acts, tokens, null, 1, seqLen);
            best = Math.min(best, System.nanoTime() - t0);
        }
        double prefillSeconds = best / 1e9;

        long linearParams = 0;
        long quantizedParams = 0;
        long quantizedBytes = 0;
        for (LayerWeights lw : model.weights().layers) {
            for (Projection p : Projection.values()) {
                Linear l = lw.projection(p);
                long n = (long) l.inFeatures() * l.outFeatures();
                linearParams += n;
                if (l.weight instanceof Nf4Tensor) {
                    quantizedParams += n;
                    quantizedBytes += l.weight.residentBytes();
                }
            }
        }
        double flops = 2.0 * seqLen * linearParams
                + 2.0 * seqLen * c.vocabSize() * c.hiddenSize()
                // q·kᵀ and p·v over the causal triangle: 2 products × 2 FLOPs × heads × headDim × T(T+1)/2
                + 2.0 * 2.0 * c.numLayers() * c.numHeads() * c.headDim() * (seqLen * (seqLen + 1) / 2.0);

        // decode: a short prompt, then one token at a time through the KV cache
        int prompt = Math.min(16, seqLen);
        LlamaModel.KvCache cache = model.newCache(prompt + decodeTokens + 1);
        int[] head = java.util.Arrays.copyOf(tokens, prompt);
        model.forwardCached(model.allocateDecode(prompt, cache.capacity), cache, head);
        LlamaModel.Activations step = model.allocateDecode(1, cache.capacity);
        int[] one = {tokens[prompt % seqLen]};
        model.forwardCached(step, cache, one); // warm-up step
        long t0 = System.nanoTime();
        for (int i = 0; i < decodeTokens; i++) {
            one[0] = tokens[(prompt + 1 + i) % seqLen];
            model.forwardCached(step, cache, one);
        }
        double decodeSeconds = (System.nanoTime() - t0) / 1e9;

        int n = Math.max(c.intermediateSize(), c.hiddenSize());
        double peakOne = CpuBackend.sgemmGflops(seqLen, n, c.hiddenSize(), 1, Math.max(3, repeats));
        double peakAll = threads == 1 ? peakOne : CpuBackend.sgemmGflops(seqLen, n, c.hiddenSize(), threads, Math.max(3, repeats));
        double gflops = flops / prefillSeconds / 1e9;
        return new Result(seqLen, threads, prefillSeconds, seqLen / prefillSeconds, flops, gflops, decodeTokens,
                decodeTokens / decodeSeconds, peakOne, peakAll, seqLen + "x" + n + "x" + c.hiddenSize(),
                model.weights().residentBytes(), quantizedParams,
                quantizedParams == 0 ? Double.NaN : (double) quantizedBytes / quantizedParams, ProcessMemory.peakRssBytes());
    }
}
