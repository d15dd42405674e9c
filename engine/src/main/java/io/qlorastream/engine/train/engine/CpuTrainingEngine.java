package io.qlorastream.engine.train.engine;

import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraDropout;
import io.qlorastream.engine.model.LlamaModel;
import io.qlorastream.engine.optim.AdamW;
import io.qlorastream.engine.optim.GradClip;

/**
 * The reference engine: {@link LlamaModel}'s forward and backward on its backend over host arrays, {@link GradClip}
 * and {@link AdamW} on the adapter's own arrays. {@link #store} has nothing to copy.
 */
public final class CpuTrainingEngine implements TrainingEngine {
    private final LlamaModel model;
    private final boolean checkpointing;
    private LoraAdapter adapter;
    private AdamW optimizer;
    private LlamaModel.Activations acts;
    private LlamaModel.Gradients grads;

    public CpuTrainingEngine(LlamaModel model, boolean checkpointing) {
        this.model = model;
        this.checkpointing = checkpointing;
    }

    @Override
    public void load(LoraAdapter adapter, AdamW optimizer, LoraDropout dropout) {
        this.adapter = adapter;
        this.optimizer = optimizer;
        model.attachLora(adapter, dropout);
    }

    @Override
    public void zeroGrads() {
        adapter.zeroGrads();
    }

    @Override
    public double accumulate(int[] tokens, int[] mask, int[] targets, int batch, int seqLen, float tokenWeight) {
        if (acts == null || acts.batch != batch || acts.seqLen != seqLen) {
            // buffers of one shape at a time: memory stays that of the current micro-batch, not of every length seen
            acts = null;
            grads = null;
            acts = model.allocateTraining(batch, seqLen, checkpointing);
            grads = model.allocateGradients(batch, seqLen);
        }
        model.forward(acts, tokens, mask, batch, seqLen);
        return model.lossSumAndBackward(acts, grads, targets, tokenWeight);
    }

    @Override
    public double clipAndStep(double maxGradNorm, double lr) {
        double norm = maxGradNorm > 0 ? GradClip.clip(adapter.grads, maxGradNorm) : GradClip.globalNorm(adapter.grads);
        optimizer.step(adapter.params, adapter.grads, lr);
        return norm;
    }

    @Override
    public void store() {
        // the adapter and optimizer arrays are the engine's own
    }

    @Override
    public void close() {
        acts = null;
        grads = null;
    }
}
