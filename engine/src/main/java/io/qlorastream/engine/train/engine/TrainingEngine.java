package io.qlorastream.engine.train.engine;

import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraDropout;
import io.qlorastream.engine.model.LlamaModel;
import io.qlorastream.engine.optim.AdamW;

/**
 * Where one optimizer step's work runs: the micro-batches' forward and backward accumulating the adapter's
 * gradients, then clipping and AdamW. {@code StepTrainer} keeps a step's bookkeeping (the loss denominator, the
 * learning rate, the dropout counter; {@code Trainer} or the caller chooses the examples) and hands the arithmetic to
 * an engine, so the same step trains on the CPU ({@link CpuTrainingEngine}, the reference) or with everything resident
 * on a GPU ({@code train.cuda.CudaTrainingModel}); {@code train.TrainingEngines} picks one by the model's backend.
 * <p>
 * An engine trains one adapter at a time, bound by {@link #load}. While bound, the engine may hold the adapter's
 * parameters, gradients and the optimizer's moments elsewhere (GPU memory): the host arrays of the adapter and the
 * optimizer are only current after {@link #store}, and host-side changes reach the engine only through another
 * {@link #load}.
 */
public interface TrainingEngine extends AutoCloseable {

    /**
     * Binds the adapter to train, its optimizer (moments and step count) and dropout (whose counter the caller
     * advances after each micro-batch); copies their host state to wherever the engine computes.
     */
    void load(LoraAdapter adapter, AdamW optimizer, LoraDropout dropout);

    /** Zeroes the bound adapter's gradients (the start of an optimizer step). */
    void zeroGrads();

    /**
     * Forward and backward of one right-padded micro-batch: tokens and mask [batch, seqLen], targets already shifted
     * (-100 ignored); every target token's loss gradient is seeded with {@code tokenWeight}; the adapter's gradients
     * accumulate. Returns the sum of the target tokens' losses.
     */
    double accumulate(int[] tokens, int[] mask, int[] targets, int batch, int seqLen, float tokenWeight);

    /**
     * Clips the accumulated gradients to global norm {@code maxGradNorm} (0: no clipping) and takes one AdamW step
     * at {@code lr}; returns the gradient norm before clipping.
     */
    double clipAndStep(double maxGradNorm, double lr);

    /** Copies the bound adapter's parameters and the optimizer's moments and step count back into their host objects. */
    void store();

    /** Frees what the engine holds (activation buffers, device memory); the model and the backend stay open. */
    @Override
    void close();

    /** Makes the engine for a model's backend. */
    interface Factory {
        TrainingEngine create(LlamaModel model, boolean checkpointing);
    }
}
