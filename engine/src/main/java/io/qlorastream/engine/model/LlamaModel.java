package io.qlorastream.engine.model;

import io.qlorastream.engine.compute.Backend;
import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.config.Projection;
import io.qlorastream.engine.kernels.Attention;
import io.qlorastream.engine.kernels.CrossEntropy;
import io.qlorastream.engine.kernels.Embedding;
import io.qlorastream.engine.kernels.Residual;
import io.qlorastream.engine.kernels.RmsNorm;
import io.qlorastream.engine.kernels.Rope;
import io.qlorastream.engine.kernels.SwiGlu;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraDropout;
import io.qlorastream.engine.lora.LoraKernels;
import io.qlorastream.engine.lora.LoraModule;

import static io.qlorastream.engine.config.Projection.DOWN;
import static io.qlorastream.engine.config.Projection.GATE;
import static io.qlorastream.engine.config.Projection.K;
import static io.qlorastream.engine.config.Projection.O;
import static io.qlorastream.engine.config.Projection.Q;
import static io.qlorastream.engine.config.Projection.UP;
import static io.qlorastream.engine.config.Projection.V;

/**
 * The Llama-family decoder forward in fp32 over frozen weights: embedding → blocks (RMSNorm, q/k/v, RoPE, causal GQA
 * attention, o_proj, residual, RMSNorm, SwiGLU MLP, residual) → final RMSNorm → lm_head.
 * Activation buffers are laid out once in {@link Activations} and reused call after call.
 */
public final class LlamaModel {
    private final LlamaWeights weights;
    private final LlamaConfig config;
    private final Backend backend;
    private final Rope rope;
    /** The attached adapter's modules by [layer][projection ordinal] (null: none). */
    private LoraModule[][] lora;
    private LoraAdapter adapter;
    private LoraDropout loraDropout;

    public LlamaModel(LlamaWeights weights, Backend backend) {
        this.weights = weights;
        this.config = weights.config;
        this.backend = backend;
        this.rope = Rope.of(config);
    }

    public LlamaConfig config() {
        return config;
    }

    public LlamaWeights weights() {
        return weights;
    }

    public Backend backend() {
        return backend;
    }

    public Rope rope() {
        return rope;
    }

    /**
     * Puts a LoRA adapter into the targeted projections: {@code y = W x (+ bias) + scaling · B(A(dropout(x)))}, and
     * the backward adds the adapter's gradients to {@code adapter.grads} (plus the LoRA path's dx). {@code dropout}
     * null (or p = 0) for evaluation; {@code adapter} null detaches.
     */
    public void attachLora(LoraAdapter adapter, LoraDropout dropout) {
        this.adapter = adapter;
        this.loraDropout = dropout;
        if (adapter == null) {
            lora = null;
            return;
        }
        if (adapter.numLayers != config.numLayers()) {
            throw new IllegalArgumentException("adapter has " + adapter.numLayers + " layers, the model " + config.numLayers());
        }
        lora = new LoraModule[config.numLayers()][Projection.values().length];
        for (LoraModule m : adapter.modules()) {
            lora[m.layer][m.projection.ordinal()] = m;
        }
    }

    public LoraAdapter lora() {
        return adapter;
    }


    /** Scratch of the LoRA path, grown on demand: dropped-out input (then its gradient), dAx. */
    private float[] loraXd = new float[0], loraScratch = new float[0];
    /** Scratch of the LoRA weight gradients of one module (reused: a new array per call would be garbage). */
    private float[] loraGradScratch;

    /**
     * A projection's forward: the frozen linear plus the LoRA term of the attached adapter if it targets it, A·x first
     * and the B product inside the linear's call (the CPU backend adds it to each output block in native memory).
     */
    private void project(int l, Projection proj, float[] y, float[] x, int rows, Linear w, LayerActivations la) {
        int p = proj.ordinal();
        LoraModule m = lora == null ? null : lora[l][p];
        if (m == null) {
            LinearLayer.forward(backend, y, x, rows, w);
            return;
        }
        LoraKernels.inputProduct(backend, m, loraInput(l, p, m, x, rows, la), rows, la.loraAx[p]);
        LinearLayer.forward(backend, y, x, rows, w, LoraKernels.upProduct(m, la.loraAx[p]));
    }

    /**
     * Of {@link #project}, only what a backward reads: the LoRA path's {@code A·dropout(x)} (and its dropout mask),
     * without the frozen product or the {@code B} product, whose output the backward does not need.
     */
    private void loraInputOnly(int l, Projection proj, float[] x, int rows, LayerActivations la) {
        int p = proj.ordinal();
        LoraModule m = lora == null ? null : lora[l][p];
        if (m == null) {
            return;
        }
        float[] in = loraInput(l, p, m, x, rows, la);
        LoraKernels.inputProduct(backend, m, in, rows, la.loraAx[p]);
    }

    /** Sizes the LoRA buffers of projection p for {@code rows} and returns its input: x, or dropout(x) in scratch. */
    private float[] loraInput(int l, int p, LoraModule m, float[] x, int rows, LayerActivations la) {
        if (la.loraAx[p] == null || la.loraAx[p].length < rows * m.r) {
            la.loraAx[p] = new float[rows * m.r];
        }
        if (loraXd.length < rows * m.in) {
            loraXd = new float[rows * m.in];
        }
        if (loraDropout != null && !loraDropout.isIdentity()) {
            long[] bits = dropoutMask(la, p, loraDropout.key(l, m.projection), rows * m.in);
            loraDropout.forward(backend, bits, x, 0, rows * m.in, loraXd, 0);
            return loraXd;
        }
        return x;
    }

    /**
     * The dropout mask of {@code key} over n elements, from the block buffers' cache when their last forward made it
     * (a mask is a function of its key alone): the backward applies the mask its forward, or checkpointing's recompute,
     * made. Checkpointing shares one set of block buffers, so a recomputed block makes its
     * masks again rather than keeping every layer's (25 MB on a 1.1B model at seq 512, against its 2 GB budget).
     */
    private long[] dropoutMask(LayerActivations la, int p, long key, int n) {
        if (la.dropMask[p] == null || la.dropKey[p] != key || la.dropN[p] != n) {
            la.dropMask[p] = loraDropout.mask(backend, key, n, la.dropMask[p]);
            la.dropKey[p] = key;
            la.dropN[p] = n;
        }
        return la.dropMask[p];
    }

    /** A projection's backward: frozen dx += dy W, then the LoRA gradients and its dx contribution. */
    private void projectBackward(int l, Projection proj, float[] dx, float[] dy, float[] x, int rows, Linear w, LayerActivations la) {
        int p = proj.ordinal();
        LinearLayer.backward(backend, dx, dy, rows, w);
        LoraModule m = lora == null ? null : lora[l][p];
        if (m == null) {
            return;
        }
        if (loraXd.length < rows * m.in) {
            loraXd = new float[rows * m.in];
        }
        if (loraScratch.length < rows * m.r) {
            loraScratch = new float[rows * m.r];
        }
        if (loraDropout == null || loraDropout.isIdentity()) {
            loraGradScratch = LoraKernels.backward(backend, m, x, rows, la.loraAx[p], dy, dx, loraScratch, loraGradScratch);
            return;
        }
        // the dropout mask of the forward (kept in the block's buffers, or recomputed from its key: same micro-batch counter)
        int n = rows * m.in;
        long[] bits = dropoutMask(la, p, loraDropout.key(l, m.projection), n);
        loraDropout.forward(backend, bits, x, 0, n, loraXd, 0);
        // the weight gradients read the dropped-out input; once they are done the same buffer takes its gradient
        loraGradScratch = LoraKernels.backward(backend, m, loraXd, rows, la.loraAx[p], dy, null, loraScratch, loraGradScratch);
        java.util.Arrays.fill(loraXd, 0, n, 0f);
        LoraKernels.inputGradient(backend, m, rows, loraScratch, loraXd);
        loraDropout.backward(backend, bits, loraXd, 0, n, dx, 0);
    }

    /** The buffers one decoder block writes; for the backward, every block keeps its own (see {@link Activations}). */
    public static final class LayerActivations {
        public final float[] ln1, rstd1, q, k, v, probs, att, attProj, resid2, ln2, rstd2, gate, up, mlpHidden, mlpOut;
        /** LoRA's A·x per projection (kept for the backward), allocated when an adapter targets it. */
        final float[][] loraAx = new float[Projection.values().length][];
        /** LoRA dropout masks of the last forward through these buffers, per projection, with their key and length. */
        final long[][] dropMask = new long[Projection.values().length][];
        final long[] dropKey = new long[Projection.values().length];
        final int[] dropN = new int[Projection.values().length];
        /**
         * 0: probs holds every head's attention probabilities; else probs holds this many heads at a time and the
         * backward recomputes them (training buffers whose probabilities would exceed {@link #ATTENTION_CHUNK_FLOATS}).
         */
        final int attentionChunkHeads;

        LayerActivations(LlamaConfig c, int rows, int probsSize) {
            this(c, rows, probsSize, 0);
        }

        LayerActivations(LlamaConfig c, int rows, int probsSize, int attentionChunkHeads) {
            this.attentionChunkHeads = attentionChunkHeads;
            int hidden = c.hiddenSize();
            int inter = c.intermediateSize();
            ln1 = new float[rows * hidden];
            rstd1 = new float[rows];
            q = new float[rows * c.qDim()];
            k = new float[rows * c.kvDim()];
            v = new float[rows * c.kvDim()];
            probs = new float[probsSize];
            att = new float[rows * c.qDim()];
            attProj = new float[rows * hidden];
            resid2 = new float[rows * hidden];
            ln2 = new float[rows * hidden];
            rstd2 = new float[rows];
            gate = new float[rows * inter];
            up = new float[rows * inter];
            mlpHidden = new float[rows * inter];
            mlpOut = new float[rows * hidden];
        }
    }

    /**
     * All buffers of a forward over up to [batch, seqLen] tokens. {@code resid[l]} is the input of block l and
     * {@code resid[layers]} the input of the final norm. With {@code keepLayers} every block has its own buffers
     * (what a backward needs); without, blocks share one set and the residual stream alternates between two arrays.
     * {@code logitRows} is how many rows get logits (batch·seqLen, or 1 when decoding only needs the last one).
     * With {@code lossChunked} (training buffers, see {@link LlamaModel#allocateTraining}) the forward stops at the final
     * norm and the loss computes lm_head chunk by chunk: {@code logits} then holds one chunk of {@code logitRows} rows.
     */
    public static final class Activations {
        public final int batch, seqLen, kvCap, logitRows;
        /** Activation checkpointing: every block's input is kept, its insides are recomputed in the backward. */
        public final boolean checkpointed;
        /** lm_head and the loss run chunk by chunk of {@code logitRows} rows inside the backward (training buffers). */
        public final boolean lossChunked;
        public final int[] positions;
        /** The key mask of the last {@link LlamaModel#forward} (a checkpointed backward recomputes blocks with it). */
        int[] mask;
        public final float[][] resid;
        public final LayerActivations[] layers;
        public final float[] lnFinal, rstdFinal, logits;

        Activations(LlamaConfig c, int batch, int seqLen, int kvCap, boolean keepLayers, int logitRows) {
            this(c, batch, seqLen, kvCap, keepLayers, false, logitRows);
        }

        Activations(LlamaConfig c, int batch, int seqLen, int kvCap, boolean keepLayers, boolean checkpointed, int logitRows) {
            this(c, batch, seqLen, kvCap, keepLayers, checkpointed, logitRows, false, Long.MAX_VALUE);
        }

        Activations(LlamaConfig c, int batch, int seqLen, int kvCap, boolean keepLayers, boolean checkpointed, int logitRows,
                    boolean lossChunked, long attentionChunkFloats) {
            this.batch = batch;
            this.checkpointed = checkpointed;
            this.lossChunked = lossChunked;
            this.seqLen = seqLen;
            this.kvCap = kvCap;
            this.logitRows = logitRows;
            int rows = batch * seqLen;
            positions = new int[rows];
            // a forward over the whole sequence (kvCap = seqLen) has causal blocks' probabilities, under t² per head;
            // decoding chunks see up to kvCap keys
            Attention.Shape whole = new Attention.Shape(batch, seqLen, seqLen, seqLen, 0, c.numHeads(), c.numKvHeads(), c.headDim());
            int probsSize = kvCap == seqLen ? Math.toIntExact(Attention.probsFloats(whole, batch * c.numHeads()))
                    : batch * c.numHeads() * seqLen * kvCap;
            int chunkHeads = 0;
            if ((long) probsSize > attentionChunkFloats) {
                chunkHeads = Attention.chunkHeads(whole, attentionChunkFloats);
                probsSize = Math.toIntExact(Attention.probsFloats(whole, chunkHeads));
            }
            final int heads = chunkHeads;
            final int probs = probsSize;
            layers = new LayerActivations[c.numLayers()];
            resid = new float[c.numLayers() + 1][];
            LayerActivations shared = keepLayers ? null : new LayerActivations(c, rows, probs, heads);
            float[][] alternate = keepLayers || checkpointed ? null : new float[][]{new float[rows * c.hiddenSize()], new float[rows * c.hiddenSize()]};
            for (int l = 0; l < c.numLayers(); l++) {
                layers[l] = keepLayers ? new LayerActivations(c, rows, probs, heads) : shared;
            }
            for (int l = 0; l <= c.numLayers(); l++) {
                resid[l] = keepLayers || checkpointed ? new float[rows * c.hiddenSize()] : alternate[l % 2];
            }
            lnFinal = new float[rows * c.hiddenSize()];
            rstdFinal = new float[rows];
            logits = new float[logitRows * c.vocabSize()];
        }
    }

    /** Buffers for a batched forward of [batch, seqLen] tokens with logits for every position. */
    public Activations allocate(int batch, int seqLen, boolean keepLayers) {
        return new Activations(config, batch, seqLen, seqLen, keepLayers, batch * seqLen);
    }

    /**
     * Buffers for training over [batch, seqLen]: with {@code checkpoint} only every block's input is kept (one set of
     * block buffers is shared and each block is recomputed just before its backward, about one more forward of
     * compute for layers× less activation memory); without, every block keeps its own buffers. Either way the logits
     * are never held whole: {@link #forward} stops at the final norm and {@link #lossSumAndBackward} runs lm_head, the
     * loss and their backward over {@link #lossChunkRows} rows at a time (for a 32k vocabulary and 512 tokens that is
     * 16 MB instead of 64 MB of logits, and as much less in the backend's staging buffers).
     */
    public Activations allocateTraining(int batch, int seqLen, boolean checkpoint) {
        return allocateTraining(batch, seqLen, checkpoint, lossChunkRows(batch * seqLen), ATTENTION_CHUNK_FLOATS);
    }

    /** Training buffers with loss chunks of {@code chunkRows} rows and attention chunks of at most so many floats (tests use small ones). */
    Activations allocateTraining(int batch, int seqLen, boolean checkpoint, int chunkRows, long attentionChunkFloats) {
        return new Activations(config, batch, seqLen, seqLen, !checkpoint, checkpoint, chunkRows, true, attentionChunkFloats);
    }

    /**
     * Logit floats per loss chunk of training buffers (16 MB): 128 rows of a 32k vocabulary, enough for an efficient
     * lm_head product; each chunk converts the whole (BF16) lm_head again, so much smaller chunks cost time.
     */
    static final int LOSS_CHUNK_FLOATS = 1 << 22;

    /**
     * Training buffers keep the attention probabilities of all heads up to this many floats (16 MB); above it they are
     * computed by whole KV groups of heads and recomputed in the backward (1B at seq 512: 33.5 MB → 8.4 MB, twice:
     * probabilities and their gradient), at the cost of one more QKᵀ and softmax per layer.
     */
    static final long ATTENTION_CHUNK_FLOATS = 1 << 22;

    /**
     * Rows of one loss chunk for {@code rows} training rows: a multiple of 16, the row block of OpenBLAS's sgemm kernels
     * (lm_head's product over 128 rows runs about 7 % faster than over 131, measured with {@code CpuBackend.sgemmGflops}).
     */
    public int lossChunkRows(int rows) {
        return Math.max(1, Math.min(rows, Math.max(16, (LOSS_CHUNK_FLOATS / config.vocabSize()) & ~15)));
    }

    /**
     * Forward over right-padded sequences: tokens and mask are [batch, seqLen] (mask 1 = real token, 0 = padding),
     * position t of every row is at RoPE position t. Fills {@code acts.logits} [batch·seqLen, vocab]. mask may be null
     * (no padding).
     */
    public void forward(Activations acts, int[] tokens, int[] mask, int batch, int seqLen) {
        if (batch != acts.batch || seqLen != acts.seqLen || acts.kvCap != seqLen) {
            throw new IllegalArgumentException("activations laid out for [" + acts.batch + ", " + acts.seqLen
                    + "], forward called with [" + batch + ", " + seqLen + "]");
        }
        int rows = batch * seqLen;
        acts.mask = mask;
        for (int i = 0; i < rows; i++) {
            acts.positions[i] = i % seqLen;
        }
        Embedding.forward(acts.resid[0], tokens, rows, weights.tokenEmbedding);
        for (int l = 0; l < config.numLayers(); l++) {
            LayerActivations la = acts.layers[l];
            Attention.Shape shape = new Attention.Shape(batch, seqLen, seqLen, seqLen, 0, config.numHeads(),
                    config.numKvHeads(), config.headDim());
            blockForward(l, acts.resid[l], acts.resid[l + 1], la, acts.positions, rows, la.k, la.v, mask, shape);
        }
        if (acts.lossChunked) {
            // training buffers: lm_head runs chunk by chunk inside the loss
            RmsNorm.forward(backend, acts.lnFinal, acts.rstdFinal, acts.resid[config.numLayers()], weights.finalNorm, rows,
                    config.hiddenSize(), config.rmsNormEps());
            return;
        }
        finalForward(acts, rows, 0, rows);
    }

    /**
     * One decoder block: x → out. k/v of the new rows are written (after RoPE) into kCache/vCache, which attention
     * reads; for a plain forward those are the block's own k and v buffers.
     */
    void blockForward(int l, float[] x, float[] out, LayerActivations la, int[] positions, int rows,
                      float[] kCache, float[] vCache, int[] keyMask, Attention.Shape shape) {
        blockForward(l, x, out, la, positions, rows, kCache, vCache, keyMask, shape, false);
    }

    /**
     * The forward of block l again, from its kept input, for its backward: every buffer the backward reads, bit for
     * bit as the forward wrote it. It stops short of down_proj's frozen product and the block output: the backward
     * reads neither (down_proj's input gradient needs only its output gradient, and the output is the next block's
     * kept input), which saves the largest product of the recompute. Down's LoRA still computes A·x (dB needs it).
     */
    void recomputeBlock(int l, float[] x, LayerActivations la, int[] positions, int rows, int[] keyMask, Attention.Shape shape) {
        blockForward(l, x, null, la, positions, rows, la.k, la.v, keyMask, shape, true);
    }

    private void blockForward(int l, float[] x, float[] out, LayerActivations la, int[] positions, int rows,
                              float[] kCache, float[] vCache, int[] keyMask, Attention.Shape shape, boolean forBackward) {
        LayerWeights w = weights.layers[l];
        int hidden = config.hiddenSize();
        RmsNorm.forward(backend, la.ln1, la.rstd1, x, w.inputNorm, rows, hidden, config.rmsNormEps());
        project(l, Q, la.q, la.ln1, rows, w.q, la);
        project(l, K, la.k, la.ln1, rows, w.k, la);
        project(l, V, la.v, la.ln1, rows, w.v, la);
        rope.forward(backend, la.q, positions, rows, config.numHeads());
        rope.forward(backend, la.k, positions, rows, config.numKvHeads());
        if (kCache != la.k) {
            // decoding, batch 1: append the new rows at their positions in the cache
            int kvDim = config.kvDim();
            System.arraycopy(la.k, 0, kCache, shape.qStart() * kvDim, rows * kvDim);
            System.arraycopy(la.v, 0, vCache, shape.qStart() * kvDim, rows * kvDim);
        }
        if (la.attentionChunkHeads > 0) {
            Attention.forwardChunked(backend, la.att, la.probs, la.q, kCache, vCache, keyMask, shape, la.attentionChunkHeads);
        } else {
            Attention.forward(backend, la.att, la.probs, la.q, kCache, vCache, keyMask, shape);
        }
        project(l, O, la.attProj, la.att, rows, w.o, la);
        Residual.forward(la.resid2, x, la.attProj, rows * hidden);
        RmsNorm.forward(backend, la.ln2, la.rstd2, la.resid2, w.postAttentionNorm, rows, hidden, config.rmsNormEps());
        project(l, GATE, la.gate, la.ln2, rows, w.gate, la);
        project(l, UP, la.up, la.ln2, rows, w.up, la);
        SwiGlu.forward(backend, la.mlpHidden, la.gate, la.up, rows * config.intermediateSize());
        if (forBackward) {
            loraInputOnly(l, DOWN, la.mlpHidden, rows, la);
            return;
        }
        project(l, DOWN, la.mlpOut, la.mlpHidden, rows, w.down, la);
        Residual.forward(out, la.resid2, la.mlpOut, rows * hidden);
    }

    /** Final norm over all rows, lm_head over rows [firstLogitRow, firstLogitRow + logitRows). */
    void finalForward(Activations acts, int rows, int firstLogitRow, int logitRows) {
        int hidden = config.hiddenSize();
        float[] x = acts.resid[config.numLayers()];
        RmsNorm.forward(backend, acts.lnFinal, acts.rstdFinal, x, weights.finalNorm, rows, hidden, config.rmsNormEps());
        float[] in = acts.lnFinal;
        if (firstLogitRow != 0 || logitRows != rows) {
            in = new float[logitRows * hidden];
            System.arraycopy(acts.lnFinal, firstLogitRow * hidden, in, 0, logitRows * hidden);
        }
        backend.linearForward(acts.logits, in, logitRows, weights.lmHead, null);
    }

    /** A key/value cache for decoding one sequence: per layer [capacity, kvDim]. */
    public static final class KvCache {
        public final int capacity;
        final float[][] k, v;
        int length;

        KvCache(LlamaConfig c, int capacity) {
            this.capacity = capacity;
            k = new float[c.numLayers()][capacity * c.kvDim()];
            v = new float[c.numLayers()][capacity * c.kvDim()];
        }

        /** Tokens already in the cache (the position of the next one). */
        public int length() {
            return length;
        }
    }

    public KvCache newCache(int capacity) {
        return new KvCache(config, capacity);
    }

    /** Buffers for feeding {@code chunk} tokens at a time into a cache of the given capacity (logits of the last only). */
    public Activations allocateDecode(int chunk, int capacity) {
        return new Activations(config, 1, chunk, capacity, false, 1);
    }

    /**
     * Feeds tokens (all of {@code acts.seqLen} of them) at positions {@code cache.length()...}, appends their keys and
     * values to the cache and leaves the logits of the last token in {@code acts.logits} [vocab].
     */
    public float[] forwardCached(Activations acts, KvCache cache, int[] tokens) {
        int n = tokens.length;
        if (n != acts.seqLen || acts.batch != 1 || acts.kvCap != cache.capacity) {
            throw new IllegalArgumentException("decode activations laid out for " + acts.seqLen + " tokens and capacity "
                    + acts.kvCap + ", called with " + n + " tokens and capacity " + cache.capacity);
        }
        int start = cache.length;
        if (start + n > cache.capacity) {
            throw new IllegalArgumentException("KV cache full: " + start + " + " + n + " tokens > capacity " + cache.capacity);
        }
        for (int i = 0; i < n; i++) {
            acts.positions[i] = start + i;
        }
        Embedding.forward(acts.resid[0], tokens, n, weights.tokenEmbedding);
        Attention.Shape shape = new Attention.Shape(1, n, start + n, cache.capacity, start, config.numHeads(),
                config.numKvHeads(), config.headDim());
        for (int l = 0; l < config.numLayers(); l++) {
            blockForward(l, acts.resid[l], acts.resid[l + 1], acts.layers[l], acts.positions, n,
                    cache.k[l], cache.v[l], null, shape);
        }
        cache.length = start + n;
        finalForward(acts, n, n - 1, 1);
        return acts.logits;
    }

    /**
     * Gradient buffers of a backward over [batch, seqLen], laid out once. Blocks are walked one at a time, so the
     * per-block buffers are shared. {@code dEmbedded} receives dL/d(embedding output) [rows, hidden] and
     * {@code dFinalNorm} dL/d(final norm weight) (the only frozen-weight gradient kept: it makes the whole chain checkable).
     */
    public static final class Gradients {
        final float[] dResid, dX, dResid2, dLn, dQ, dK, dV, dAtt, dAttProj, dMlpHidden, dLnFinal;
        /** Attention probabilities' gradient, sized by the first backward to the activations' probs (whole or a chunk). */
        float[] dProbs = new float[0];
        public final float[] dEmbedded, dFinalNorm, losses, dLoss;
        /** One loss chunk's final-norm rows and their gradient (training buffers). */
        float[] chunkIn, chunkDx;

        Gradients(LlamaConfig c, int batch, int seqLen) {
            int rows = batch * seqLen;
            int h = c.hiddenSize();
            int inter = c.intermediateSize();
            dResid = new float[rows * h];
            dX = new float[rows * h];
            dResid2 = new float[rows * h];
            dLn = new float[rows * h];
            dQ = new float[rows * c.qDim()];
            dK = new float[rows * c.kvDim()];
            dV = new float[rows * c.kvDim()];
            dAtt = new float[rows * c.qDim()];
            dAttProj = new float[rows * h];
            dMlpHidden = new float[rows * inter];
            dLnFinal = new float[rows * h];
            dEmbedded = new float[rows * h];
            dFinalNorm = new float[h];
            losses = new float[rows];
            dLoss = new float[rows];
        }
    }

    public Gradients allocateGradients(int batch, int seqLen) {
        return new Gradients(config, batch, seqLen);
    }

    /**
     * Loss and backward after {@link #forward} with activations kept per layer: the mean cross-entropy over the target
     * tokens (already shifted, see {@link CrossEntropy#shiftLabels}; -100 ignored), then gradients back to the embedding
     * output. Overwrites {@code acts.logits} with dL/dlogits (of the last loss chunk for training buffers) and the MLP
     * gate/up activations with their gradients: a backward consumes its forward. Returns the mean loss (NaN without
     * targets).
     */
    public double lossAndBackward(Activations acts, Gradients g, int[] targets) {
        int n = 0;
        for (int t : targets) {
            if (t != CrossEntropy.IGNORE) {
                n++;
            }
        }
        double sum = lossSumAndBackward(acts, g, targets, n == 0 ? 0f : 1f / n);
        return n == 0 ? Double.NaN : sum / n;
    }

    /**
     * Like {@link #lossAndBackward} but the gradient of every target token's loss is seeded with {@code tokenWeight}
     * (1 / target tokens of a whole accumulated step, see GradAccumulation), and the summed token losses are returned.
     */
    public double lossSumAndBackward(Activations acts, Gradients g, int[] targets, float tokenWeight) {
        int rows = acts.batch * acts.seqLen;
        int hidden = config.hiddenSize();
        int vocab = config.vocabSize();
        if (!acts.checkpointed && acts.layers.length > 1 && acts.layers[0] == acts.layers[1]) {
            throw new IllegalStateException("backward needs activations kept per layer: allocate(batch, seqLen, true)");
        }
        java.util.Arrays.fill(g.dLoss, tokenWeight);
        zero(g.dLnFinal);
        if (acts.lossChunked) {
            lossChunks(acts, g, targets);
        } else {
            CrossEntropy.forward(backend, g.losses, acts.logits, acts.logits, targets, rows, vocab);
            CrossEntropy.backward(backend, acts.logits, acts.logits, targets, g.dLoss, rows, vocab);
            backend.linearBackward(g.dLnFinal, acts.logits, rows, weights.lmHead);
        }
        double sum = 0;
        for (int i = 0; i < rows; i++) {
            if (targets[i] != CrossEntropy.IGNORE) {
                sum += g.losses[i];
            }
        }
        zero(g.dResid);
        zero(g.dFinalNorm);
        RmsNorm.backward(backend, g.dResid, g.dFinalNorm, g.dLnFinal, acts.resid[config.numLayers()], weights.finalNorm,
                acts.rstdFinal, rows, hidden);
        Attention.Shape shape = new Attention.Shape(acts.batch, acts.seqLen, acts.seqLen, acts.seqLen, 0,
                config.numHeads(), config.numKvHeads(), config.headDim());
        for (int l = config.numLayers() - 1; l >= 0; l--) {
            if (acts.checkpointed && l < config.numLayers() - 1) {
                // recompute the block from its kept input (same dropout masks: they are keyed by the micro-batch
                // counter). The last block needs none: the shared block buffers still hold its forward, which nothing
                // after it (final norm, loss) writes.
                recomputeBlock(l, acts.resid[l], acts.layers[l], acts.positions, rows, acts.mask, shape);
            }
            blockBackward(l, acts.resid[l], acts.layers[l], g, acts.positions, rows, shape, acts.mask);
        }
        System.arraycopy(g.dResid, 0, g.dEmbedded, 0, rows * hidden);
        return sum;
    }

    /**
     * lm_head, cross-entropy and their backward for rows [r0, r0 + chunk) at a time: fills g.losses and g.dLnFinal as
     * the whole-logits path does, row for row the same products, with one chunk of logits in memory.
     */
    private void lossChunks(Activations acts, Gradients g, int[] targets) {
        int rows = acts.batch * acts.seqLen;
        int hidden = config.hiddenSize();
        int vocab = config.vocabSize();
        int chunk = acts.logitRows;
        if (g.chunkIn == null || g.chunkIn.length < chunk * hidden) {
            g.chunkIn = new float[chunk * hidden];
            g.chunkDx = new float[chunk * hidden];
        }
        for (int r0 = 0; r0 < rows; r0 += chunk) {
            int rc = Math.min(chunk, rows - r0);
            System.arraycopy(acts.lnFinal, r0 * hidden, g.chunkIn, 0, rc * hidden);
            backend.linearForward(acts.logits, g.chunkIn, rc, weights.lmHead, null);
            int[] t = java.util.Arrays.copyOfRange(targets, r0, r0 + rc);
            float[] losses = new float[rc];
            CrossEntropy.forward(backend, losses, acts.logits, acts.logits, t, rc, vocab);
            System.arraycopy(losses, 0, g.losses, r0, rc);
            CrossEntropy.backward(backend, acts.logits, acts.logits, t, java.util.Arrays.copyOfRange(g.dLoss, r0, r0 + rc), rc, vocab);
            java.util.Arrays.fill(g.chunkDx, 0, rc * hidden, 0f);
            backend.linearBackward(g.chunkDx, acts.logits, rc, weights.lmHead);
            System.arraycopy(g.chunkDx, 0, g.dLnFinal, r0 * hidden, rc * hidden);
        }
    }

    /** Block l backward: g.dResid holds dL/d(block output) on entry and dL/d(block input x) on exit. */
    void blockBackward(int l, float[] x, LayerActivations la, Gradients g, int[] positions, int rows, Attention.Shape shape,
                       int[] keyMask) {
        LayerWeights w = weights.layers[l];
        int hidden = config.hiddenSize();
        int n = rows * hidden;
        // out = resid2 + mlpOut: both get dout
        System.arraycopy(g.dResid, 0, g.dResid2, 0, n);
        zero(g.dMlpHidden);
        projectBackward(l, DOWN, g.dMlpHidden, g.dResid, la.mlpHidden, rows, w.down, la);
        // gate and up are dead once the SwiGLU backward has read them (a block's backward runs once, right after its
        // forward or recompute): their gradients overwrite them instead of taking two more [tokens, inter] buffers
        float[] dGate = la.gate, dUp = la.up;
        SwiGlu.backwardInPlace(backend, g.dMlpHidden, dGate, dUp, rows * config.intermediateSize());
        zero(g.dLn);
        projectBackward(l, GATE, g.dLn, dGate, la.ln2, rows, w.gate, la);
        projectBackward(l, UP, g.dLn, dUp, la.ln2, rows, w.up, la);
        RmsNorm.backward(backend, g.dResid2, null, g.dLn, la.resid2, w.postAttentionNorm, la.rstd2, rows, hidden);
        // resid2 = x + attProj
        System.arraycopy(g.dResid2, 0, g.dX, 0, n);
        zero(g.dAtt);
        projectBackward(l, O, g.dAtt, g.dResid2, la.att, rows, w.o, la);
        zero(g.dQ);
        zero(g.dK);
        zero(g.dV);
        if (g.dProbs.length < la.probs.length) {
            g.dProbs = new float[la.probs.length];
        }
        if (la.attentionChunkHeads > 0) {
            Attention.backwardRecomputing(backend, g.dQ, g.dK, g.dV, la.probs, g.dProbs, g.dAtt, la.q, la.k, la.v, keyMask,
                    shape, la.attentionChunkHeads);
        } else {
            Attention.backward(backend, g.dQ, g.dK, g.dV, g.dProbs, g.dAtt, la.probs, la.q, la.k, la.v, shape);
        }
        rope.backward(backend, g.dQ, positions, rows, config.numHeads());
        rope.backward(backend, g.dK, positions, rows, config.numKvHeads());
        zero(g.dLn);
        projectBackward(l, Q, g.dLn, g.dQ, la.ln1, rows, w.q, la);
        projectBackward(l, K, g.dLn, g.dK, la.ln1, rows, w.k, la);
        projectBackward(l, V, g.dLn, g.dV, la.ln1, rows, w.v, la);
        RmsNorm.backward(backend, g.dX, null, g.dLn, x, w.inputNorm, la.rstd1, rows, hidden);
        System.arraycopy(g.dX, 0, g.dResid, 0, n);
    }

    private static void zero(float[] a) {
        java.util.Arrays.fill(a, 0f);
    }
}
