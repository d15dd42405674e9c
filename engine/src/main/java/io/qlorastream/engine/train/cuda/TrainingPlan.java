package io.qlorastream.engine.train.cuda;

import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.config.Projection;
import io.qlorastream.engine.model.LayerWeights;
import io.qlorastream.engine.model.Linear;
import io.qlorastream.engine.model.LlamaWeights;
import io.qlorastream.engine.quant.Nf4Tensor;
import io.qlorastream.engine.tensor.WeightMatrix;

/**
 * The sizes, chunks and offsets of GPU-resident training ({@link CudaTrainingModel}) for one micro-batch shape, as
 * plain arithmetic: the model allocates exactly what this plans and issues its strided attention products with these
 * offsets, so the bookkeeping is tested on the CPU (TrainingPlanTest) although the GPU code only runs on a GPU.
 * <p>
 * Rows are the micro-batch's tokens ({@code batch · seqLen}). Floats are fp32 elements, shorts bf16 elements.
 */
public record TrainingPlan(int batch, int seqLen, int hidden, int qDim, int kvDim, int inter, int vocab, int heads,
                           int kvHeads, int headDim, int layers, int loraRank, boolean checkpointing,
                           long lossChunkFloats) {

    /** Floats of one loss chunk's logits (64 MiB): 2048 rows of a 32k vocabulary, with a bf16 copy of half that. */
    public static final long LOSS_CHUNK_FLOATS = 1L << 24;
    /** bf16 elements of the dequantized-weight scratch (64 MiB): any 1B-class projection in one product. */
    public static final long WEIGHT_SCRATCH_SHORTS = 1L << 25;
    /** Blocks of the gradient-norm reduction: a fixed grid, so the partial sums and their order never change. */
    public static final int NORM_BLOCKS = 1024;

    public static TrainingPlan of(LlamaConfig c, int loraRank, int batch, int seqLen, boolean checkpointing) {
        if (batch < 1 || seqLen < 1) {
            throw new IllegalArgumentException("micro-batch [" + batch + ", " + seqLen + "] is empty");
        }
        return new TrainingPlan(batch, seqLen, c.hiddenSize(), c.qDim(), c.kvDim(), c.intermediateSize(), c.vocabSize(),
                c.numHeads(), c.numKvHeads(), c.headDim(), c.numLayers(), loraRank, checkpointing, LOSS_CHUNK_FLOATS);
    }

    /** This plan with loss chunks of at most {@code floats} logits (tests use small ones to get several chunks). */
    public TrainingPlan withLossChunkFloats(long floats) {
        return new TrainingPlan(batch, seqLen, hidden, qDim, kvDim, inter, vocab, heads, kvHeads, headDim, layers, loraRank,
                checkpointing, floats);
    }

    public int rows() {
        return batch * seqLen;
    }

    /** Query heads per KV head (GQA). */
    public int group() {
        return heads / kvHeads;
    }

    /** The widest activation row a product reads or writes (the bf16 operand scratch holds rows of it). */
    public int widest() {
        return Math.max(Math.max(hidden, inter), Math.max(qDim, kvDim));
    }

    /** Attention probabilities of every head: [batch, heads, T, T]. */
    public long probsFloats() {
        return (long) batch * heads * seqLen * seqLen;
    }

    /** Rows of one loss chunk: as many as fit {@link #lossChunkFloats} logits, at least 1, at most all rows. */
    public int lossChunkRows() {
        return (int) Math.max(1, Math.min(rows(), lossChunkFloats / vocab));
    }

    public static int lossChunkRows(int rows, int vocab) {
        return (int) Math.max(1, Math.min(rows, LOSS_CHUNK_FLOATS / vocab));
    }

    /** Rows of a [rows, cols] weight dequantized per product so a block fits the bf16 scratch (at least 1). */
    public static int weightBlockRows(int rows, int cols) {
        return weightBlockRows(rows, cols, WEIGHT_SCRATCH_SHORTS);
    }

    /** Rows of a [rows, cols] weight per product with a scratch of {@code scratchElements} (at least 1). */
    public static int weightBlockRows(int rows, int cols, long scratchElements) {
        return (int) Math.max(1, Math.min(rows, scratchElements / Math.max(1, cols)));
    }

    /** fp32 floats of one decoder block's buffers (ln1 ... mlp hidden, LoRA's A·x of 7 projections, probabilities). */
    public long blockFloats() {
        long r = rows();
        return r * hidden * 3 + r * 2 + r * qDim * 2 + r * kvDim * 2 + r * inter * 3 + 7L * r * loraRank + probsFloats();
    }

    /** Blocks with their own buffers: one shared set with checkpointing (recomputed in the backward), else one each. */
    public int blockSets() {
        return checkpointing ? 1 : layers;
    }

    /** fp32 floats of everything else an accumulate holds: residual stream, final norm, gradients, LoRA scratch, loss. */
    public long sharedFloats() {
        long r = rows();
        long resid = (long) (layers + 1) * r * hidden;
        long finalNorm = r * hidden + r;
        long scratch = r * hidden; // projection output (a recomputed block writes no output)
        long grads = 5 * r * hidden + 2 * r * qDim + 2 * r * kvDim + 3 * r * inter + probsFloats();
        long lora = r * widest() + r * loraRank;
        long loss = (long) lossChunkRows() * vocab + r;
        return resid + finalNorm + scratch + grads + lora + loss;
    }

    /** bf16 elements: the operand scratch of a product (activations or their gradient) and one chunk's dlogits. */
    public long scratchShorts() {
        return (long) rows() * widest() + (long) lossChunkRows() * vocab;
    }

    /** Device bytes of the micro-batch's buffers (activations, gradients, scratch, token ids, mask, targets). */
    public long activationBytes() {
        return 4 * (blockSets() * blockFloats() + sharedFloats()) + 2 * scratchShorts() + 3L * 4 * rows();
    }

    /** Device bytes of the adapter: parameters, gradients, two AdamW moments (fp32), and the norm partials. */
    public static long adapterBytes(long parameters) {
        return 16 * parameters + 8L * NORM_BLOCKS;
    }

    /**
     * Device bytes of the frozen weights as {@link CudaTrainingModel} keeps them: NF4 packed with its absmax (and
     * nested quantization tables), every other matrix as bf16 (lm_head once when tied), norms and biases fp32, plus
     * the dequantization scratch.
     */
    public static long weightBytes(LlamaWeights w) {
        long bytes = matrixBytes(w.tokenEmbedding) + 4L * w.finalNorm.length;
        if (!w.tied()) {
            bytes += matrixBytes(w.lmHead);
        }
        for (LayerWeights l : w.layers) {
            bytes += 4L * (l.inputNorm.length + l.postAttentionNorm.length);
            for (Projection p : Projection.values()) {
                Linear lin = l.projection(p);
                bytes += matrixBytes(lin.weight) + (lin.bias == null ? 0 : 4L * lin.bias.length);
            }
        }
        return bytes + 2 * WEIGHT_SCRATCH_SHORTS + 4L * w.config.headDim() / 2;
    }

    static long matrixBytes(WeightMatrix m) {
        if (m instanceof Nf4Tensor t) {
            long b = t.packed().length + 4L * t.quantMap().length;
            if (t.doubleQuant()) {
                b += t.quantizedAbsmax().length + 4L * t.nestedAbsmax().length + 4L * t.nestedQuantMap().length;
            } else {
                b += 4L * t.absmax().length;
            }
            return b;
        }
        return 2L * m.rows() * m.cols();
    }

    // ---- attention: the strided-batched products over one batch row b and one member gi of every KV group ----

    /**
     * Query head h = kv·group + gi of batch b, for kv = 0..kvHeads−1 (one strided batch): its first column in q
     * [rows, qDim] (and att, dq, datt).
     */
    public long qBase(int b, int gi) {
        return (long) b * seqLen * qDim + (long) gi * headDim;
    }

    /** Distance between consecutive members of that batch in q: a whole KV group of heads. */
    public long qStride() {
        return (long) group() * headDim;
    }

    /** KV head 0 of batch b in k and v [rows, kvDim]. */
    public long kvBase(int b) {
        return (long) b * seqLen * kvDim;
    }

    public long kvStride() {
        return headDim;
    }

    /** Probabilities [batch, heads, T, T] of head gi of batch b. */
    public long probsBase(int b, int gi) {
        return ((long) b * heads + gi) * seqLen * seqLen;
    }

    public long probsStride() {
        return (long) group() * seqLen * seqLen;
    }

    /**
     * A row-major strided-batched product {@code C_i = alpha·op(A_i)·op(B_i) + beta·C_i}, i < count, A_i at address
     * {@code a + i·strideA·unit} (strides in elements, addresses in the caller's unit): cuBLAS on the GPU, a Java loop
     * in the test that checks the attention bookkeeping against {@code kernels.Attention}.
     */
    public interface StridedGemm {
        void run(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda, long strideA,
                 long b, int ldb, long strideB, float beta, long c, int ldc, long strideC, int count);
    }

    /** 1/sqrt(headDim), attention's score scale (as a float, like the CPU). */
    public float attentionScale() {
        return (float) (1.0 / Math.sqrt(headDim));
    }

    /**
     * probs_h = q_h · k_hᵀ / sqrt(d) for every batch row and head, one strided batch per (b, group member): q [rows,
     * qDim], k [rows, kvDim], probs [batch, heads, T, T] at addresses q, k, probs; {@code unit} = bytes per element at
     * those addresses (4 for device addresses, 1 for element offsets).
     */
    public void attentionScores(StridedGemm g, long unit, long q, long k, long probs) {
        int t = seqLen;
        eachGroupMember(unit, (qo, kv, po) -> g.run(false, true, t, t, headDim, attentionScale(), q + qo, qDim, qStride(),
                k + kv, kvDim, kvStride(), 0f, probs + po, t, probsStride(), kvHeads));
    }

    /** att_h = probs_h · v_h (att [rows, qDim]). */
    public void attentionOutput(StridedGemm g, long unit, long probs, long v, long att) {
        int t = seqLen;
        eachGroupMember(unit, (qo, kv, po) -> g.run(false, false, t, headDim, t, 1f, probs + po, t, probsStride(),
                v + kv, kvDim, kvStride(), 0f, att + qo, qDim, qStride(), kvHeads));
    }

    /**
     * The backward's first half: dprobs_h = datt_h · v_hᵀ, and dv_kv += probs_hᵀ · datt_h, the members of a KV group
     * one after another (they add into the same dv rows; within one strided batch every KV head is written once).
     */
    public void attentionBackwardValues(StridedGemm g, long unit, long dAtt, long v, long probs, long dProbs, long dV) {
        int t = seqLen;
        eachGroupMember(unit, (qo, kv, po) -> {
            g.run(false, true, t, t, headDim, 1f, dAtt + qo, qDim, qStride(), v + kv, kvDim, kvStride(),
                    0f, dProbs + po, t, probsStride(), kvHeads);
            g.run(true, false, t, headDim, t, 1f, probs + po, t, probsStride(), dAtt + qo, qDim, qStride(),
                    1f, dV + kv, kvDim, kvStride(), kvHeads);
        });
    }

    /** The backward's second half, after the softmax backward turned dprobs into dscores: dq_h += dscore · k_h, dk_kv += dscoreᵀ · q_h. */
    public void attentionBackwardQueryKey(StridedGemm g, long unit, long dScores, long k, long q, long dQ, long dK) {
        int t = seqLen;
        eachGroupMember(unit, (qo, kv, po) -> {
            g.run(false, false, t, headDim, t, 1f, dScores + po, t, probsStride(), k + kv, kvDim, kvStride(),
                    1f, dQ + qo, qDim, qStride(), kvHeads);
            g.run(true, false, t, headDim, t, 1f, dScores + po, t, probsStride(), q + qo, qDim, qStride(),
                    1f, dK + kv, kvDim, kvStride(), kvHeads);
        });
    }

    /** The offsets (in the caller's unit) of one strided batch: query heads, their KV heads, their probabilities. */
    private interface GroupMember {
        void run(long q, long kv, long probs);
    }

    /** Calls body for every batch row b and KV-group member gi, in that order (the order dk and dv accumulate in). */
    private void eachGroupMember(long unit, GroupMember body) {
        for (int b = 0; b < batch; b++) {
            for (int gi = 0; gi < group(); gi++) {
                body.run(unit * qBase(b, gi), unit * kvBase(b), unit * probsBase(b, gi));
            }
        }
    }
}
