package io.qlorastream.engine.optim;

/** Global gradient-norm clipping as {@code torch.nn.utils.clip_grad_norm_} does it (QLoRA's max norm is 0.3). */
public final class GradClip {
    public static final double QLORA_MAX_NORM = 0.3;

    private GradClip() {
    }

    /** The L2 norm of all gradients, summed sequentially in double (deterministic for a given array). */
    public static double globalNorm(float[] grads) {
        double s = 0;
        for (float g : grads) {
            s += (double) g * g;
        }
        return Math.sqrt(s);
    }

    /**
     * Scales every gradient by {@code min(1, maxNorm / (norm + 1e-6))} (torch's formula) and returns the norm before
     * clipping; {@code maxNorm <= 0} disables clipping. A non-finite norm leaves the gradients untouched (the
     * caller decides whether to skip the step).
     */
    public static double clip(float[] grads, double maxNorm) {
        double norm = globalNorm(grads);
        if (maxNorm <= 0 || !Double.isFinite(norm)) {
            return norm;
        }
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1.0) {
            float c = (float) coef;
            for (int i = 0; i < grads.length; i++) {
                grads[i] *= c;
            }
        }
        return norm;
    }
}
