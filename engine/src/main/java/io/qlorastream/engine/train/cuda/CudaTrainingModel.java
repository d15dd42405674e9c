package io.qlorastream.engine.train.cuda;

import io.qlorastream.engine.compute.cuda.CudaBackend;
import io.qlorastream.engine.compute.cuda.CudaException;
import io.qlorastream.engine.compute.cuda.CudaKernels;
import io.qlorastream.engine.compute.cuda.CudaStatus;
import io.qlorastream.engine.compute.cuda.DeviceBuffer;
import io.qlorastream.engine.compute.cuda.TrainingDevice;
import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.config.Projection;
import io.qlorastream.engine.kernels.CrossEntropy;
import io.qlorastream.engine.kernels.Rope;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraDropout;
import io.qlorastream.engine.lora.LoraModule;
import io.qlorastream.engine.model.LayerWeights;
import io.qlorastream.engine.model.Linear;
import io.qlorastream.engine.model.LlamaModel;
import io.qlorastream.engine.model.LlamaWeights;
import io.qlorastream.engine.optim.AdamW;
import io.qlorastream.engine.quant.Nf4Tensor;
import io.qlorastream.engine.tensor.Floats;
import io.qlorastream.engine.tensor.WeightMatrix;
import io.qlorastream.engine.train.engine.TrainingEngine;
import org.bytedeco.javacpp.SizeTPointer;

import java.util.ArrayList;
import java.util.List;

import static io.qlorastream.engine.config.Projection.DOWN;
import static io.qlorastream.engine.config.Projection.GATE;
import static io.qlorastream.engine.config.Projection.K;
import static io.qlorastream.engine.config.Projection.O;
import static io.qlorastream.engine.config.Projection.Q;
import static io.qlorastream.engine.config.Projection.UP;
import static io.qlorastream.engine.config.Projection.V;
import static org.bytedeco.cuda.global.cudart.cudaMemGetInfo;

/**
 * QLoRA training of one adapter with everything on the GPU: the {@link TrainingEngine} of a {@link CudaBackend}.
 * It mirrors {@link LlamaModel}'s forward and {@code lossSumAndBackward} layer for layer (llm.c style: one kernel or
 * cuBLAS call per layer kind and direction), so the CPU model is its reference:
 * <ul>
 *   <li>frozen projections stay NF4 on the GPU (packed bytes + absmax, double quantization as {@link Nf4Tensor} holds
 *       them) and are dequantized to bf16 into a bounded scratch right before each product; embeddings and lm_head
 *       (and any non-NF4 projection) are held as bf16, norms and biases as fp32;</li>
 *   <li>the frozen products run in bf16 with fp32 accumulation and fp32 output ({@code cublasGemmEx}, CUDA_R_16BF
 *       inputs, CUBLAS_COMPUTE_32F), as QLoRA's bf16 compute dtype does; activations are fp32 and converted to bf16
 *       as a product's input; the LoRA products, attention's products and everything element-wise stay fp32;</li>
 *   <li>LoRA A/B, their gradients and both AdamW moments are fp32 device arrays in the adapter's flat layout, so
 *       clipping (a fixed-grid norm reduction) and AdamW ({@code adamw.cu}) run over four arrays;</li>
 *   <li>dropout masks come from {@link LoraDropout}'s counter-based hash evaluated on the GPU ({@code lora_dropout.cu}):
 *       the same elements are dropped as on the CPU;</li>
 *   <li>activation checkpointing as the CPU model: with it only every block's input is kept and each block is
 *       recomputed right before its backward;</li>
 *   <li>lm_head and the cross-entropy run by chunks of rows ({@link TrainingPlan#lossChunkRows}), never the whole
 *       logits.</li>
 * </ul>
 * Only the token ids, mask and targets go to the GPU per micro-batch and only the per-row losses and the norm's
 * partial sums come back; the adapter and the moments cross only in {@link #load} and {@link #store}.
 * <p>
 * Kernels are launched on the default stream, like cuBLAS on the backend's handle, so they run in issue order. All
 * GPU work goes through a {@link TrainingDevice} ({@link CudaBackend#trainingDevice} on a GPU), which a CPU test emulates to
 * check this class's orchestration against the CPU model (CudaTrainingModelEmulatedTest).
 * Not thread-safe; one engine per backend at a time.
 */
public final class CudaTrainingModel implements TrainingEngine {
    /**
     * The frozen products' operands: {@link #BF16} is QLoRA's compute dtype (the default, what {@code --device cuda}
     * trains with); {@link #FP32} keeps every operand fp32 (no TF32), for tests that must tell a bug from bf16 rounding.
     */
    public enum Precision {
        BF16, FP32
    }

    private static final int ROW_THREADS = 256;

    private final TrainingDevice dev;
    private final LlamaModel model;
    private final LlamaConfig config;
    private final boolean checkpointing;
    private final boolean bf16;
    private final long weightScratchElements;
    private final long lossChunkFloats;
    /** Bytes of one frozen-product operand element: 2 (bf16) or 4 (fp32). */
    private final int es;
    private final List<DeviceBuffer> weightBuffers = new ArrayList<>();
    private final GpuLinear[][] linears;
    private final DeviceBuffer[] inputNorm, postNorm;
    private final DeviceBuffer finalNorm, embedding, lmHead, invFreq, weightScratch;

    private LoraAdapter adapter;
    private AdamW optimizer;
    private LoraDropout dropout;
    private LoraModule[][] lora;
    private long stepCount;
    private DeviceBuffer params, grads, expAvg, expAvgSq, normPartials;

    private Buffers buf;
    private boolean closed;

    /**
     * The GPU-resident training engine over {@code model}'s frozen weights (which must compute on {@code backend}),
     * closed with the backend at the latest.
     */
    public static CudaTrainingModel open(CudaBackend backend, LlamaModel model, boolean checkpointing, Precision precision) {
        if (model.backend() != backend) {
            throw new IllegalArgumentException("the model computes on " + model.backend().name() + ", not on this CUDA backend");
        }
        if (precision == Precision.BF16 && backend.gpu().ccMajor() < 8) {
            // cublasGemmEx with bf16 inputs needs Ampere's tensor cores or later
            throw new CudaException("GPU-resident training computes in bf16 and needs compute capability 8.0 or newer; "
                    + backend.gpu().reason(), null);
        }
        CudaTrainingModel engine = new CudaTrainingModel(backend.trainingDevice(), model, checkpointing, precision);
        backend.onClose(engine::close);
        return engine;
    }

    CudaTrainingModel(TrainingDevice dev, LlamaModel model, boolean checkpointing, Precision precision) {
        this(dev, model, checkpointing, precision, TrainingPlan.WEIGHT_SCRATCH_SHORTS, TrainingPlan.LOSS_CHUNK_FLOATS);
    }

    /** With the dequantization scratch and loss chunk sizes given (tests use small ones to exercise the blocking). */
    CudaTrainingModel(TrainingDevice dev, LlamaModel model, boolean checkpointing, Precision precision,
                      long weightScratchElements, long lossChunkFloats) {
        this.weightScratchElements = weightScratchElements;
        this.lossChunkFloats = lossChunkFloats;
        this.dev = dev;
        this.model = model;
        this.config = model.config();
        this.checkpointing = checkpointing;
        this.bf16 = precision == Precision.BF16;
        this.es = bf16 ? 2 : 4;
        dev.enter();
        LlamaWeights w = model.weights();
        int layers = config.numLayers();
        try {
            linears = new GpuLinear[layers][Projection.values().length];
            inputNorm = new DeviceBuffer[layers];
            postNorm = new DeviceBuffer[layers];
            for (int l = 0; l < layers; l++) {
                LayerWeights lw = w.layers[l];
                inputNorm[l] = keep(ofFloats(lw.inputNorm));
                postNorm[l] = keep(ofFloats(lw.postAttentionNorm));
                for (Projection p : Projection.values()) {
                    linears[l][p.ordinal()] = new GpuLinear(lw.projection(p));
                }
            }
            finalNorm = keep(ofFloats(w.finalNorm));
            embedding = keep(dense(w.tokenEmbedding));
            lmHead = w.tied() ? embedding : keep(dense(w.lmHead));
            invFreq = keep(ofFloats(Rope.invFreq(config)));
            weightScratch = keep(dev.allocate(es * weightScratchElements));
            normPartials = keep(dev.allocate(8L * TrainingPlan.NORM_BLOCKS));
        } catch (RuntimeException | Error e) {
            freeAll();
            throw e;
        }
    }

    private DeviceBuffer ofFloats(float[] a) {
        DeviceBuffer b = dev.allocate(4L * a.length);
        b.upload(a, 0, a.length, 0);
        return b;
    }

    private DeviceBuffer ofBytes(byte[] a) {
        DeviceBuffer b = dev.allocate(a.length);
        b.uploadBytes(a);
        return b;
    }

    private DeviceBuffer keep(DeviceBuffer b) {
        weightBuffers.add(b);
        return b;
    }

    /** A dense weight on the GPU in the operand precision: bf16 or fp32. */
    private DeviceBuffer dense(WeightMatrix m) {
        if (bf16) {
            return bf16(m);
        }
        int rows = m.rows(), cols = m.cols();
        DeviceBuffer d = dev.allocate(4L * rows * cols);
        try {
            int block = Math.max(1, Math.min(rows, (1 << 22) / Math.max(1, cols)));
            float[] f = new float[block * cols];
            for (int r0 = 0; r0 < rows; r0 += block) {
                int rc = Math.min(block, rows - r0);
                m.dequantizeRows(r0, rc, f, 0);
                d.upload(f, 0, rc * cols, (long) r0 * cols);
            }
            return d;
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
    }

    /** A dense weight as bf16 bits on the GPU, converted block of rows by block on the host. */
    private DeviceBuffer bf16(WeightMatrix m) {
        int rows = m.rows(), cols = m.cols();
        DeviceBuffer d = dev.allocate(2L * rows * cols);
        try {
            int block = Math.max(1, Math.min(rows, (1 << 22) / Math.max(1, cols)));
            float[] f = new float[block * cols];
            short[] s = new short[block * cols];
            for (int r0 = 0; r0 < rows; r0 += block) {
                int rc = Math.min(block, rows - r0);
                m.dequantizeRows(r0, rc, f, 0);
                for (int i = 0; i < rc * cols; i++) {
                    s[i] = Floats.floatToBf16(f[i]);
                }
                d.uploadShorts(s, rc * cols, (long) r0 * cols);
            }
            return d;
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
    }

    /** A frozen projection on the GPU: NF4 (dequantized to bf16 per product) or bf16, plus an fp32 bias. */
    private final class GpuLinear {
        final int rows, cols;
        final Nf4Tensor nf4;
        final DeviceBuffer packed, code, absmax, nestedAbsmax, nestedMap, dense, bias;

        GpuLinear(Linear lin) {
            WeightMatrix w = lin.weight;
            rows = w.rows();
            cols = w.cols();
            bias = lin.bias == null ? null : keep(ofFloats(lin.bias));
            if (w instanceof Nf4Tensor t) {
                nf4 = t;
                packed = keep(ofBytes(t.packed()));
                code = keep(ofFloats(t.quantMap()));
                if (t.doubleQuant()) {
                    absmax = keep(ofBytes(t.quantizedAbsmax()));
                    nestedAbsmax = keep(ofFloats(t.nestedAbsmax()));
                    nestedMap = keep(ofFloats(t.nestedQuantMap()));
                } else {
                    absmax = keep(ofFloats(t.absmax()));
                    nestedAbsmax = null;
                    nestedMap = null;
                }
                dense = null;
            } else {
                nf4 = null;
                packed = code = absmax = nestedAbsmax = nestedMap = null;
                dense = keep(dense(w));
            }
        }

        int blockRows() {
            return nf4 == null ? rows : TrainingPlan.weightBlockRows(rows, cols, weightScratchElements);
        }

        /** Device address of rows [r0, r0 + rc) as operands (rc ≤ blockRows()): the resident matrix or the scratch. */
        long rowsOperand(int r0, int rc) {
            if (nf4 == null) {
                return dense.address() + (long) es * r0 * cols;
            }
            String suffix = bf16 ? "_bf16" : "";
            long count = (long) rc * cols;
            long start = (long) r0 * cols;
            try (CudaKernels.Args args = new CudaKernels.Args()) {
                if (nf4.doubleQuant()) {
                    args.ptr(packed).ptr(absmax).ptr(nestedAbsmax).ptr(nestedMap).f32(nf4.nestedOffset())
                            .i32(nf4.nestedBlockSize()).ptr(code).i32(nf4.blockSize()).i64(start).i64(count).ptr(weightScratch);
                    dev.launchElementwise("nf4_dequantize_dq" + suffix, count, args);
                } else {
                    args.ptr(packed).ptr(absmax).ptr(code).i32(nf4.blockSize()).i64(start).i64(count).ptr(weightScratch);
                    dev.launchElementwise("nf4_dequantize" + suffix, count, args);
                }
            }
            return weightScratch.address();
        }
    }

    // ---- TrainingEngine ----

    @Override
    public void load(LoraAdapter adapter, AdamW optimizer, LoraDropout dropout) {
        enter();
        if (adapter.numLayers != config.numLayers()) {
            throw new IllegalArgumentException("adapter has " + adapter.numLayers + " layers, the model " + config.numLayers());
        }
        int n = adapter.parameterCount();
        if (optimizer.size() != n) {
            throw new IllegalArgumentException("optimizer holds " + optimizer.size() + " moments for " + n + " parameters");
        }
        if (params == null || params.bytes() != 4L * n) {
            freeAdapter();
            params = dev.allocate(4L * n);
            grads = dev.allocate(4L * n);
            expAvg = dev.allocate(4L * n);
            expAvgSq = dev.allocate(4L * n);
        }
        params.upload(adapter.params, 0, n, 0);
        grads.upload(adapter.grads, 0, n, 0);
        expAvg.upload(optimizer.expAvg(), 0, n, 0);
        expAvgSq.upload(optimizer.expAvgSq(), 0, n, 0);
        stepCount = optimizer.stepCount();
        this.adapter = adapter;
        this.optimizer = optimizer;
        this.dropout = dropout;
        lora = new LoraModule[config.numLayers()][Projection.values().length];
        for (LoraModule m : adapter.modules()) {
            lora[m.layer][m.projection.ordinal()] = m;
        }
        // the CPU model's view stays consistent for anyone who inspects it (it does not compute here)
        model.attachLora(adapter, dropout);
    }

    @Override
    public void zeroGrads() {
        enter();
        bound();
        grads.zero();
    }

    @Override
    public void store() {
        enter();
        bound();
        int n = adapter.parameterCount();
        params.download(0, adapter.params, 0, n);
        grads.download(0, adapter.grads, 0, n);
        expAvg.download(0, optimizer.expAvg(), 0, n);
        expAvgSq.download(0, optimizer.expAvgSq(), 0, n);
        optimizer.restore(stepCount, optimizer.expAvg(), optimizer.expAvgSq());
    }

    @Override
    public double clipAndStep(double maxGradNorm, double lr) {
        enter();
        bound();
        long n = adapter.parameterCount();
        try (CudaKernels.Args a = new CudaKernels.Args().ptr(grads).i64(n).ptr(normPartials)) {
            dev.launch("sumsq_partials", TrainingPlan.NORM_BLOCKS, ROW_THREADS, a);
        }
        double[] partial = new double[TrainingPlan.NORM_BLOCKS];
        normPartials.downloadDoubles(partial, partial.length);
        double s = 0;
        for (double v : partial) {
            s += v;
        }
        double norm = Math.sqrt(s);
        // GradClip.clip's rule: scale by min(1, maxNorm / (norm + 1e-6)), nothing when the norm is not finite
        if (maxGradNorm > 0 && Double.isFinite(norm)) {
            double coef = maxGradNorm / (norm + 1e-6);
            if (coef < 1.0) {
                try (CudaKernels.Args a = new CudaKernels.Args().ptr(grads).f32((float) coef).i64(n)) {
                    dev.launchElementwise("scale_f32", n, a);
                }
            }
        }
        stepCount++;
        try (CudaKernels.Args a = CudaKernels.adamwArgs(params.address(), grads.address(), expAvg.address(),
                expAvgSq.address(), n, optimizer.config.weightDecay(), optimizer.config.beta1(), optimizer.config.beta2(),
                optimizer.config.eps(), lr, stepCount)) {
            dev.launchElementwise("adamw_step", n, a);
        }
        return norm;
    }

    @Override
    public double accumulate(int[] tokens, int[] mask, int[] targets, int batch, int seqLen, float tokenWeight) {
        enter();
        bound();
        int rows = batch * seqLen;
        if (tokens.length < rows || targets.length < rows || (mask != null && mask.length < rows)) {
            throw new IllegalArgumentException("tokens, mask and targets must hold batch × seqLen = " + rows + " values");
        }
        for (int i = 0; i < rows; i++) {
            if (tokens[i] < 0 || tokens[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + tokens[i] + " outside the vocabulary [0, " + config.vocabSize() + ")");
            }
            int t = targets[i];
            if (t != CrossEntropy.IGNORE && (t < 0 || t >= config.vocabSize())) {
                throw new IllegalArgumentException("label " + t + " outside the vocabulary [0, " + config.vocabSize() + ")");
            }
        }
        if (buf == null || buf.plan.batch() != batch || buf.plan.seqLen() != seqLen || buf.plan.loraRank() != adapter.config.r()) {
            // one shape of buffers at a time, as the CPU trainer: free the old before allocating the new
            if (buf != null) {
                buf.close();
                buf = null;
            }
            buf = new Buffers(TrainingPlan.of(config, adapter.config.r(), batch, seqLen, checkpointing)
                    .withLossChunkFloats(lossChunkFloats));
        }
        Buffers b = buf;
        b.tokens.uploadInts(tokens, rows);
        boolean padded = false;
        if (mask != null) {
            for (int i = 0; i < rows && !padded; i++) {
                padded = mask[i] == 0;
            }
        }
        if (padded) {
            b.mask.uploadInts(mask, rows);
        }
        b.targets.uploadInts(targets, rows);
        long maskAddr = padded ? b.mask.address() : 0L;
        forward(b, rows, maskAddr);
        return lossAndBackward(b, rows, targets, tokenWeight, maskAddr);
    }

    // ---- forward ----

    private void forward(Buffers b, int rows, long mask) {
        int hidden = config.hiddenSize();
        try (CudaKernels.Args a = new CudaKernels.Args().ptr(b.resid[0]).ptr(b.tokens).ptr(embedding).i32(hidden)) {
            dev.launch(bf16 ? "embedding_forward" : "embedding_forward_f32", rows, ROW_THREADS, a);
        }
        for (int l = 0; l < config.numLayers(); l++) {
            blockForward(l, b, b.resid[l], b.resid[l + 1], b.blocks[l], rows, mask);
        }
        rmsNormForward(b.lnFinal, b.rstdFinal, b.resid[config.numLayers()], finalNorm, rows);
    }

    private void blockForward(int l, Buffers b, DeviceBuffer x, DeviceBuffer out, Block k, int rows, long mask) {
        int hidden = config.hiddenSize();
        GpuLinear[] w = linears[l];
        rmsNormForward(k.ln1, k.rstd1, x, inputNorm[l], rows);
        long op = operand(b.xb, k.ln1, 0, (long) rows * hidden);
        project(l, Q, k.q, k.ln1, op, rows, w[Q.ordinal()], k, b);
        project(l, K, k.k, k.ln1, op, rows, w[K.ordinal()], k, b);
        project(l, V, k.v, k.ln1, op, rows, w[V.ordinal()], k, b);
        rope(k.q, rows, config.numHeads(), b.plan.seqLen(), 1f);
        rope(k.k, rows, config.numKvHeads(), b.plan.seqLen(), 1f);
        attentionForward(b, k, mask);
        op = operand(b.xb, k.att, 0, (long) rows * config.qDim());
        project(l, O, b.projOut, k.att, op, rows, w[O.ordinal()], k, b);
        add(k.resid2, x, b.projOut, (long) rows * hidden);
        rmsNormForward(k.ln2, k.rstd2, k.resid2, postNorm[l], rows);
        op = operand(b.xb, k.ln2, 0, (long) rows * hidden);
        project(l, GATE, k.gate, k.ln2, op, rows, w[GATE.ordinal()], k, b);
        project(l, UP, k.up, k.ln2, op, rows, w[UP.ordinal()], k, b);
        long n = (long) rows * config.intermediateSize();
        try (CudaKernels.Args a = new CudaKernels.Args().ptr(k.mlpHidden).ptr(k.gate).ptr(k.up).i64(n)) {
            dev.launchElementwise("swiglu_forward", n, a);
        }
        if (out == null) {
            // a recompute for the backward: of down_proj only the LoRA path's A·dropout(x), which dB reads
            loraInput(l, DOWN, k.mlpHidden, rows, w[DOWN.ordinal()].cols, k, b);
            return;
        }
        op = operand(b.xb, k.mlpHidden, 0, n);
        project(l, DOWN, b.projOut, k.mlpHidden, op, rows, w[DOWN.ordinal()], k, b);
        add(out, k.resid2, b.projOut, (long) rows * hidden);
    }

    /**
     * y = x Wᵀ (+ bias) + scaling · B(A(dropout(x))): the frozen product from {@code xOp} (x as a product operand,
     * see {@link #operand}), then the LoRA term in fp32 from x.
     */
    private void project(int l, Projection proj, DeviceBuffer y, DeviceBuffer x, long xOp, int rows, GpuLinear w, Block k, Buffers b) {
        int p = proj.ordinal();
        int in = w.cols, out = w.rows;
        int block = w.blockRows();
        for (int r0 = 0; r0 < out; r0 += block) {
            int rc = Math.min(block, out - r0);
            long wRows = w.rowsOperand(r0, rc);
            // y[:, r0:r0+rc] = x · W[r0:r0+rc]ᵀ
            gemmOp(false, true, rows, rc, in, 1f, xOp, in, wRows, in, 0f, y.address() + 4L * r0, out);
        }
        if (w.bias != null) {
            long n = (long) rows * out;
            try (CudaKernels.Args a = new CudaKernels.Args().ptr(y).ptr(w.bias).i32(out).i64(n)) {
                dev.launchElementwise("add_bias_f32", n, a);
            }
        }
        LoraModule m = loraInput(l, proj, x, rows, in, k, b);
        if (m == null) {
            return;
        }
        long bb = params.address() + 4L * m.bOffset;
        sgemm(false, true, rows, out, m.r, m.scaling, k.loraAx[p].address(), m.r, bb, m.r, 1f, y.address(), out);
    }

    /** The LoRA path's {@code ax = A·dropout(x)} of projection p into its block buffer; the module, or null when none. */
    private LoraModule loraInput(int l, Projection proj, DeviceBuffer x, int rows, int in, Block k, Buffers b) {
        int p = proj.ordinal();
        LoraModule m = lora[l][p];
        if (m == null) {
            return null;
        }
        long xin = x.address();
        if (dropping()) {
            dropoutForward(b.loraXd, x, (long) rows * in, dropout.key(l, m.projection));
            xin = b.loraXd.address();
        }
        long a = params.address() + 4L * m.aOffset;
        sgemm(false, true, rows, m.r, in, 1f, xin, in, a, in, 0f, k.loraAx[p].address(), m.r);
        return m;
    }

    private boolean dropping() {
        return dropout != null && !dropout.isIdentity();
    }

    private void attentionForward(Buffers b, Block k, long mask) {
        TrainingPlan pl = b.plan;
        pl.attentionScores(this::sgemmStrided, 4, k.q.address(), k.k.address(), k.probs.address());
        try (CudaKernels.Args a = new CudaKernels.Args().ptr(k.probs).ptr(mask).i32(pl.heads()).i32(pl.seqLen())
                .i32(0)) {
            dev.launch("causal_softmax_forward", (int) (pl.probsFloats() / pl.seqLen()), ROW_THREADS, a);
        }
        pl.attentionOutput(this::sgemmStrided, 4, k.probs.address(), k.v.address(), k.att.address());
    }

    // ---- loss and backward ----

    private double lossAndBackward(Buffers b, int rows, int[] targets, float tokenWeight, long mask) {
        int hidden = config.hiddenSize();
        int vocab = config.vocabSize();
        int chunk = b.plan.lossChunkRows();
        for (int r0 = 0; r0 < rows; r0 += chunk) {
            int rc = Math.min(chunk, rows - r0);
            long op = operand(b.xb, b.lnFinal, (long) r0 * hidden, (long) rc * hidden);
            // logits = lnFinal[r0:r0+rc] · lm_headᵀ
            gemmOp(false, true, rc, vocab, hidden, 1f, op, hidden, lmHead.address(), hidden, 0f,
                    b.logits.address(), vocab);
            try (CudaKernels.Args a = new CudaKernels.Args().ptr(b.logits).ptr(b.losses, r0).ptr(b.targets.address() + 4L * r0)
                    .i32(vocab).f32(tokenWeight)) {
                dev.launch("cross_entropy_forward_backward", rc, ROW_THREADS, a);
            }
            long dl = operand(b.dlogits, b.logits, 0, (long) rc * vocab);
            // dLnFinal[r0:r0+rc] = dlogits · lm_head
            gemmOp(false, false, rc, hidden, vocab, 1f, dl, vocab, lmHead.address(), hidden, 0f,
                    b.dLnFinal.address() + 4L * r0 * hidden, hidden);
        }
        float[] losses = new float[rows];
        b.losses.download(0, losses, 0, rows);
        double sum = 0;
        for (int i = 0; i < rows; i++) {
            if (targets[i] != CrossEntropy.IGNORE) {
                sum += losses[i];
            }
        }
        b.dResid.zero();
        rmsNormBackward(b.dResid, b.dLnFinal, b.resid[config.numLayers()], finalNorm, b.rstdFinal, rows);
        for (int l = config.numLayers() - 1; l >= 0; l--) {
            if (checkpointing && l < config.numLayers() - 1) {
                // recompute the block from its kept input (same dropout keys: same micro-batch counter), as
                // LlamaModel.recomputeBlock does: not the last block (the shared block buffers still hold its forward)
                // and not down_proj's frozen product or the block output, which the backward does not read
                blockForward(l, b, b.resid[l], null, b.blocks[l], rows, mask);
            }
            blockBackward(l, b, b.resid[l], b.blocks[l], rows, mask);
        }
        return sum;
    }

    private void blockBackward(int l, Buffers b, DeviceBuffer x, Block k, int rows, long mask) {
        int hidden = config.hiddenSize();
        long n = (long) rows * hidden;
        long ni = (long) rows * config.intermediateSize();
        GpuLinear[] w = linears[l];
        copy(b.dResid2, b.dResid, n);
        b.dMlpHidden.zero();
        projectBackward(l, DOWN, b.dMlpHidden, b.dResid, k.mlpHidden, rows, w[DOWN.ordinal()], k, b);
        b.dGate.zero();
        b.dUp.zero();
        try (CudaKernels.Args a = new CudaKernels.Args().ptr(b.dGate).ptr(b.dUp).ptr(b.dMlpHidden).ptr(k.gate).ptr(k.up).i64(ni)) {
            dev.launchElementwise("swiglu_backward", ni, a);
        }
        b.dLn.zero();
        projectBackward(l, GATE, b.dLn, b.dGate, k.ln2, rows, w[GATE.ordinal()], k, b);
        projectBackward(l, UP, b.dLn, b.dUp, k.ln2, rows, w[UP.ordinal()], k, b);
        rmsNormBackward(b.dResid2, b.dLn, k.resid2, postNorm[l], k.rstd2, rows);
        copy(b.dX, b.dResid2, n);
        b.dAtt.zero();
        projectBackward(l, O, b.dAtt, b.dResid2, k.att, rows, w[O.ordinal()], k, b);
        b.dQ.zero();
        b.dK.zero();
        b.dV.zero();
        attentionBackward(b, k);
        rope(b.dQ, rows, config.numHeads(), b.plan.seqLen(), -1f);
        rope(b.dK, rows, config.numKvHeads(), b.plan.seqLen(), -1f);
        b.dLn.zero();
        projectBackward(l, Q, b.dLn, b.dQ, k.ln1, rows, w[Q.ordinal()], k, b);
        projectBackward(l, K, b.dLn, b.dK, k.ln1, rows, w[K.ordinal()], k, b);
        projectBackward(l, V, b.dLn, b.dV, k.ln1, rows, w[V.ordinal()], k, b);
        rmsNormBackward(b.dX, b.dLn, x, inputNorm[l], k.rstd1, rows);
        copy(b.dResid, b.dX, n);
    }

    /** dx += dy W (bf16 product), then the LoRA gradients (accumulated into the device gradients) and their dx. */
    private void projectBackward(int l, Projection proj, DeviceBuffer dx, DeviceBuffer dy, DeviceBuffer x, int rows,
                                 GpuLinear w, Block k, Buffers b) {
        int p = proj.ordinal();
        int in = w.cols, out = w.rows;
        long dyOp = operand(b.xb, dy, 0, (long) rows * out);
        int block = w.blockRows();
        for (int r0 = 0; r0 < out; r0 += block) {
            int rc = Math.min(block, out - r0);
            long wRows = w.rowsOperand(r0, rc);
            // dx += dy[:, r0:r0+rc] · W[r0:r0+rc]
            gemmOp(false, false, rows, in, rc, 1f, dyOp + (long) es * r0, out, wRows, in, 1f, dx.address(), in);
        }
        LoraModule m = lora[l][p];
        if (m == null) {
            return;
        }
        long a = params.address() + 4L * m.aOffset;
        long bb = params.address() + 4L * m.bOffset;
        long gA = grads.address() + 4L * m.aOffset;
        long gB = grads.address() + 4L * m.bOffset;
        long ax = k.loraAx[p].address();
        long dax = b.dax.address();
        // dax = (dy · scaling) B
        sgemm(false, false, rows, m.r, out, m.scaling, dy.address(), out, bb, m.r, 0f, dax, m.r);
        // dB += (dy · scaling)ᵀ ax
        sgemm(true, false, out, m.r, rows, m.scaling, dy.address(), out, ax, m.r, 1f, gB, m.r);
        long xin = x.address();
        long key = 0;
        if (dropping()) {
            key = dropout.key(l, m.projection);
            dropoutForward(b.loraXd, x, (long) rows * in, key);
            xin = b.loraXd.address();
        }
        // dA += daxᵀ · dropout(x)
        sgemm(true, false, m.r, in, rows, 1f, dax, m.r, xin, in, 1f, gA, in);
        if (!dropping()) {
            // dx += dax A
            sgemm(false, false, rows, in, m.r, 1f, dax, m.r, a, in, 1f, dx.address(), in);
            return;
        }
        // the dropped-out input is dead: its buffer takes d(dropout(x)) = dax A, then the mask routes it into dx
        sgemm(false, false, rows, in, m.r, 1f, dax, m.r, a, in, 0f, b.loraXd.address(), in);
        long n = (long) rows * in;
        try (CudaKernels.Args args = new CudaKernels.Args().ptr(dx).ptr(b.loraXd).i64(n).u64(key).i32(dropout.dropThreshold())
                .f32(keepScale())) {
            dev.launchElementwise("lora_dropout_backward", n, args);
        }
    }

    private void attentionBackward(Buffers b, Block k) {
        TrainingPlan pl = b.plan;
        pl.attentionBackwardValues(this::sgemmStrided, 4, b.dAtt.address(), k.v.address(), k.probs.address(),
                b.dProbs.address(), b.dV.address());
        try (CudaKernels.Args a = new CudaKernels.Args().ptr(b.dProbs).ptr(k.probs).i32(pl.seqLen()).f32(pl.attentionScale())
                .i32(0)) {
            dev.launch("causal_softmax_backward", (int) (pl.probsFloats() / pl.seqLen()), ROW_THREADS, a);
        }
        pl.attentionBackwardQueryKey(this::sgemmStrided, 4, b.dProbs.address(), k.k.address(), k.q.address(),
                b.dQ.address(), b.dK.address());
    }

    // ---- kernels and products ----

    private float keepScale() {
        return (float) (1.0 / (1.0 - dropout.p));
    }

    private void dropoutForward(DeviceBuffer out, DeviceBuffer x, long n, long key) {
        try (CudaKernels.Args a = new CudaKernels.Args().ptr(out).ptr(x).i64(n).u64(key).i32(dropout.dropThreshold()).f32(keepScale())) {
            dev.launchElementwise("lora_dropout_forward", n, a);
        }
    }

    private void rmsNormForward(DeviceBuffer out, DeviceBuffer rstd, DeviceBuffer x, DeviceBuffer w, int rows) {
        try (CudaKernels.Args a = new CudaKernels.Args().ptr(out).ptr(rstd).ptr(x).ptr(w).i32(config.hiddenSize())
                .f64(config.rmsNormEps()).f32(0f)) {
            dev.launch("rmsnorm_forward", rows, CudaKernels.THREADS, a);
        }
    }

    private void rmsNormBackward(DeviceBuffer dx, DeviceBuffer dout, DeviceBuffer x, DeviceBuffer w, DeviceBuffer rstd, int rows) {
        try (CudaKernels.Args a = new CudaKernels.Args().ptr(dx).ptr(dout).ptr(x).ptr(w).ptr(rstd).i32(config.hiddenSize())
                .f32(0f)) {
            dev.launch("rmsnorm_backward", rows, CudaKernels.THREADS, a);
        }
    }

    private void rope(DeviceBuffer x, int rows, int heads, int seqLen, float sign) {
        try (CudaKernels.Args a = new CudaKernels.Args().ptr(x).ptr(invFreq).i32(heads).i32(config.headDim()).i32(seqLen)
                .f32(sign).i32(config.headDim()).f32(1f)) {
            dev.launch("rope_rotate", rows, ROW_THREADS, a);
        }
    }

    /**
     * x's floats [from, from + n) as a frozen product's operand: converted to bf16 into {@code scratch} (bf16), or x
     * itself (fp32). Returns the operand's device address.
     */
    private long operand(DeviceBuffer scratch, DeviceBuffer x, long from, long n) {
        if (!bf16) {
            return x.address() + 4 * from;
        }
        try (CudaKernels.Args a = new CudaKernels.Args().ptr(scratch).ptr(x, from).i64(n)) {
            dev.launchElementwise("f32_to_bf16", n, a);
        }
        return scratch.address();
    }

    private void add(DeviceBuffer out, DeviceBuffer a, DeviceBuffer b, long n) {
        try (CudaKernels.Args args = new CudaKernels.Args().ptr(out).ptr(a).ptr(b).i64(n)) {
            dev.launchElementwise("add_f32", n, args);
        }
    }

    private void copy(DeviceBuffer to, DeviceBuffer from, long floats) {
        dev.copy(to.address(), from.address(), 4 * floats);
    }

    /** Row-major fp32 C = alpha·op(A)·op(B) + beta·C on column-major cuBLAS (operands swapped, see ColumnMajorGemm). */
    private void sgemm(boolean transA, boolean transB, int m, int n, int k, float al, long a, int lda, long b, int ldb,
                       float be, long c, int ldc) {
        CudaBackend.ColumnMajorGemm g = CudaBackend.ColumnMajorGemm.of(transA, transB, m, n, k);
        dev.sgemm(g.transFirst(), g.transSecond(), g.m(), g.n(), g.k(), al, b, ldb, a, lda, be, c, ldc);
    }

    /** {@link #sgemm} over {@code count} matrices at strides (in floats) sA, sB, sC. */
    private void sgemmStrided(boolean transA, boolean transB, int m, int n, int k, float al, long a, int lda, long sA,
                              long b, int ldb, long sB, float be, long c, int ldc, long sC, int count) {
        CudaBackend.ColumnMajorGemm g = CudaBackend.ColumnMajorGemm.of(transA, transB, m, n, k);
        dev.sgemmStridedBatched(g.transFirst(), g.transSecond(), g.m(), g.n(), g.k(), al, b, ldb, sB, a, lda, sA, be, c,
                ldc, sC, count);
    }

    /**
     * Row-major C (fp32) = alpha·op(A)·op(B) + beta·C with A and B operands: bf16 (tensor cores, fp32 accumulation)
     * or fp32 (CUBLAS_COMPUTE_32F on fp32 inputs without TF32: plain sgemm).
     */
    private void gemmOp(boolean transA, boolean transB, int m, int n, int k, float al, long a, int lda, long b, int ldb,
                        float be, long c, int ldc) {
        CudaBackend.ColumnMajorGemm g = CudaBackend.ColumnMajorGemm.of(transA, transB, m, n, k);
        dev.gemmEx(g.transFirst(), g.transSecond(), g.m(), g.n(), g.k(), al, b, ldb, a, lda, be, c, ldc, bf16);
    }

    /** The operand precision of the frozen products. */
    public Precision precision() {
        return bf16 ? Precision.BF16 : Precision.FP32;
    }

    // ---- buffers ----

    /** One decoder block's buffers (shared by all blocks with checkpointing). */
    private final class Block {
        final DeviceBuffer ln1, rstd1, q, k, v, probs, att, resid2, ln2, rstd2, gate, up, mlpHidden;
        final DeviceBuffer[] loraAx = new DeviceBuffer[Projection.values().length];

        Block(TrainingPlan p, List<DeviceBuffer> all) {
            long r = p.rows();
            ln1 = f(all, r * p.hidden());
            rstd1 = f(all, r);
            q = f(all, r * p.qDim());
            k = f(all, r * p.kvDim());
            v = f(all, r * p.kvDim());
            probs = f(all, p.probsFloats());
            att = f(all, r * p.qDim());
            resid2 = f(all, r * p.hidden());
            ln2 = f(all, r * p.hidden());
            rstd2 = f(all, r);
            gate = f(all, r * p.inter());
            up = f(all, r * p.inter());
            mlpHidden = f(all, r * p.inter());
            for (int i = 0; i < loraAx.length; i++) {
                loraAx[i] = f(all, r * Math.max(1, p.loraRank()));
            }
        }
    }

    private DeviceBuffer f(List<DeviceBuffer> all, long floats) {
        DeviceBuffer b = dev.allocate(4 * Math.max(1, floats));
        all.add(b);
        return b;
    }

    /** Every buffer of one micro-batch shape, laid out by its {@link TrainingPlan}. */
    private final class Buffers implements AutoCloseable {
        final TrainingPlan plan;
        final List<DeviceBuffer> all = new ArrayList<>();
        final Block[] blocks;
        final DeviceBuffer[] resid;
        final DeviceBuffer lnFinal, rstdFinal, projOut;
        final DeviceBuffer dResid, dX, dResid2, dLn, dLnFinal, dQ, dAtt, dK, dV, dMlpHidden, dGate, dUp, dProbs;
        final DeviceBuffer loraXd, dax, logits, losses;
        final DeviceBuffer xb, dlogits;
        final DeviceBuffer tokens, mask, targets;

        Buffers(TrainingPlan p) {
            this.plan = p;
            try {
                long r = p.rows();
                long h = r * p.hidden();
                blocks = new Block[p.layers()];
                Block shared = p.checkpointing() ? new Block(p, all) : null;
                for (int l = 0; l < blocks.length; l++) {
                    blocks[l] = shared != null ? shared : new Block(p, all);
                }
                resid = new DeviceBuffer[p.layers() + 1];
                for (int l = 0; l <= p.layers(); l++) {
                    resid[l] = f(all, h);
                }
                lnFinal = f(all, h);
                rstdFinal = f(all, r);
                projOut = f(all, h);
                dResid = f(all, h);
                dX = f(all, h);
                dResid2 = f(all, h);
                dLn = f(all, h);
                dLnFinal = f(all, h);
                dQ = f(all, r * p.qDim());
                dAtt = f(all, r * p.qDim());
                dK = f(all, r * p.kvDim());
                dV = f(all, r * p.kvDim());
                dMlpHidden = f(all, r * p.inter());
                dGate = f(all, r * p.inter());
                dUp = f(all, r * p.inter());
                dProbs = f(all, p.probsFloats());
                loraXd = f(all, r * p.widest());
                dax = f(all, r * Math.max(1, p.loraRank()));
                logits = f(all, (long) p.lossChunkRows() * p.vocab());
                losses = f(all, r);
                xb = bytes(2 * r * p.widest());
                dlogits = bytes(2L * p.lossChunkRows() * p.vocab());
                tokens = bytes(4 * r);
                mask = bytes(4 * r);
                targets = bytes(4 * r);
            } catch (RuntimeException | Error e) {
                close();
                throw e;
            }
        }

        private DeviceBuffer bytes(long n) {
            DeviceBuffer b = dev.allocate(n);
            all.add(b);
            return b;
        }

        @Override
        public void close() {
            for (DeviceBuffer b : all) {
                b.close();
            }
            all.clear();
        }
    }

    // ---- lifetime ----

    private void enter() {
        if (closed) {
            throw new IllegalStateException("GPU training engine is closed");
        }
        dev.enter();
    }

    private void bound() {
        if (adapter == null) {
            throw new IllegalStateException("no adapter loaded: call load first");
        }
    }

    /** A copy of the device gradients as the CPU model's layout (for tests that compare them). */
    public float[] gradients() {
        enter();
        bound();
        float[] g = new float[adapter.parameterCount()];
        grads.download(0, g, 0, g.length);
        return g;
    }

    /** Device memory in use on the current GPU (total − free, cudaMemGetInfo): this process and any other. */
    public static long deviceMemoryUsedBytes() {
        try (SizeTPointer free = new SizeTPointer(1); SizeTPointer total = new SizeTPointer(1)) {
            CudaStatus.runtime("cudaMemGetInfo", cudaMemGetInfo(free, total));
            return total.get() - free.get();
        }
    }

    private void freeAdapter() {
        for (DeviceBuffer b : new DeviceBuffer[]{params, grads, expAvg, expAvgSq}) {
            if (b != null) {
                b.close();
            }
        }
        params = grads = expAvg = expAvgSq = null;
    }

    private void freeAll() {
        if (buf != null) {
            buf.close();
            buf = null;
        }
        freeAdapter();
        for (DeviceBuffer b : weightBuffers) {
            b.close();
        }
        weightBuffers.clear();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        try {
            dev.enter();
            freeAll();
        } finally {
            closed = true;
            if (dev instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        }
    }
}
