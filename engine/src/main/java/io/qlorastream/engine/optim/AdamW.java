package io.qlorastream.engine.optim;

import java.util.Arrays;

/**
 * AdamW as PyTorch's single-tensor {@code torch.optim.AdamW} computes it in float32 (step order, decoupled weight
 * decay, {@code exp_avg.lerp_}, bias corrections as Python doubles, eps added outside the square root):
 * <pre>
 *   t += 1
 *   p *= 1 − lr·wd
 *   m += (1−β1)(g − m)
 *   v = β2 v + (1−β2) g²
 *   p −= (lr / (1−β1^t)) · m / (sqrt(v) / sqrt(1−β2^t) + eps)
 * </pre>
 * Python scalars are doubles that torch casts to float before the element-wise float math; so does this class.
 */
public final class AdamW {
    /** Hyper-parameters (the learning rate comes from the schedule at each step). */
    public record Config(double beta1, double beta2, double eps, double weightDecay) {
        public Config {
            if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
                throw new IllegalArgumentException("Adam betas must be in [0, 1), got " + beta1 + ", " + beta2);
            }
            if (!(eps >= 0) || !(weightDecay >= 0)) {
                throw new IllegalArgumentException("Adam eps and weight decay must be non-negative, got " + eps + ", " + weightDecay);
            }
        }

        /** QLoRA's settings (HF Trainer defaults with weight decay 0): β1 0.9, β2 0.999, eps 1e-8, weight decay 0. */
        public static Config qlora() {
            return new Config(0.9, 0.999, 1e-8, 0.0);
        }

        /** torch.optim.AdamW's defaults: β1 0.9, β2 0.999, eps 1e-8, weight decay 0.01. */
        public static Config torchDefaults() {
            return new Config(0.9, 0.999, 1e-8, 0.01);
        }
    }

    public final Config config;
    private final float[] expAvg;
    private final float[] expAvgSq;
    private long step;

    public AdamW(Config config, int size) {
        this.config = config;
        this.expAvg = new float[size];
        this.expAvgSq = new float[size];
    }

    /** One optimizer step over {@code params} with gradients {@code grads} (same length) at learning rate {@code lr}. */
    public void step(float[] params, float[] grads, double lr) {
        if (params.length != expAvg.length || grads.length != expAvg.length) {
            throw new IllegalArgumentException("AdamW holds " + expAvg.length + " moments, got " + params.length
                    + " parameters and " + grads.length + " gradients");
        }
        step++;
        float decay = (float) (1 - lr * config.weightDecay);
        float oneMinusBeta1 = (float) (1 - config.beta1);
        float beta2 = (float) config.beta2;
        float oneMinusBeta2 = (float) (1 - config.beta2);
        double biasCorrection1 = 1 - Math.pow(config.beta1, step);
        double biasCorrection2 = 1 - Math.pow(config.beta2, step);
        float negStepSize = (float) -(lr / biasCorrection1);
        float biasCorrection2Sqrt = (float) Math.sqrt(biasCorrection2);
        float eps = (float) config.eps;
        boolean decays = config.weightDecay != 0;
        for (int i = 0; i < params.length; i++) {
            float g = grads[i];
            float p = decays ? params[i] * decay : params[i];
            float m = expAvg[i];
            m = m + oneMinusBeta1 * (g - m);
            float v = expAvgSq[i] * beta2 + oneMinusBeta2 * g * g;
            expAvg[i] = m;
            expAvgSq[i] = v;
            float denom = (float) Math.sqrt(v) / biasCorrection2Sqrt + eps;
            params[i] = p + negStepSize * m / denom;
        }
    }

    /** Optimizer steps taken so far (torch's {@code state['step']}). */
    public long stepCount() {
        return step;
    }

    /** First moments (live array). */
    public float[] expAvg() {
        return expAvg;
    }

    /** Second moments (live array). */
    public float[] expAvgSq() {
        return expAvgSq;
    }

    public int size() {
        return expAvg.length;
    }

    /** Puts back a saved state: step count and both moments (copied). */
    public void restore(long stepCount, float[] savedExpAvg, float[] savedExpAvgSq) {
        if (savedExpAvg.length != expAvg.length || savedExpAvgSq.length != expAvgSq.length) {
            throw new IllegalArgumentException("saved AdamW moments have " + savedExpAvg.length + "/" + savedExpAvgSq.length
                    + " elements, expected " + expAvg.length);
        }
        this.step = stepCount;
        System.arraycopy(savedExpAvg, 0, expAvg, 0, expAvg.length);
        System.arraycopy(savedExpAvgSq, 0, expAvgSq, 0, expAvgSq.length);
    }

    public void reset() {
        step = 0;
        Arrays.fill(expAvg, 0f);
        Arrays.fill(expAvgSq, 0f);
    }
}
