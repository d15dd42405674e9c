package io.qlorastream.engine.model;

import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.tensor.WeightMatrix;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Objects;

/** The frozen weights of a Llama-family decoder, as loaded by {@link ModelLoader}. */
public final class LlamaWeights implements AutoCloseable {
    public final LlamaConfig config;
    /** [vocab, hidden], in the checkpoint's dtype */
    public final WeightMatrix tokenEmbedding;
    public final LayerWeights[] layers;
    /** [hidden] */
    public final float[] finalNorm;
    /** [vocab, hidden]; the same object as {@link #tokenEmbedding} when tied */
    public final WeightMatrix lmHead;
    private final AutoCloseable resources;

    public LlamaWeights(LlamaConfig config, WeightMatrix tokenEmbedding, LayerWeights[] layers, float[] finalNorm,
                        WeightMatrix lmHead, AutoCloseable resources) {
        this.config = Objects.requireNonNull(config);
        this.tokenEmbedding = tokenEmbedding;
        this.layers = layers;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.resources = resources;
    }

    /** Weights held in memory only (no files behind them). */
    public LlamaWeights(LlamaConfig config, WeightMatrix tokenEmbedding, LayerWeights[] layers, float[] finalNorm,
                        WeightMatrix lmHead) {
        this(config, tokenEmbedding, layers, finalNorm, lmHead, null);
    }

    public boolean tied() {
        return lmHead == tokenEmbedding;
    }

    /** Bytes of all weights (quantized data, dense tensors whether mapped or on the heap, norms, biases). */
    public long residentBytes() {
        long bytes = tokenEmbedding.residentBytes() + 4L * finalNorm.length;
        if (!tied()) {
            bytes += lmHead.residentBytes();
        }
        for (LayerWeights l : layers) {
            bytes += l.residentBytes();
        }
        return bytes;
    }

    /**
     * Closes the checkpoint files. Java cannot unmap a buffer explicitly: the mappings under the dense matrices go
     * when those matrices are garbage collected (until then they stay readable, which keeps this safe).
     */
    @Override
    public void close() {
        if (resources != null) {
            try {
                resources.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
