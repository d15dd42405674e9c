package io.qlorastream.engine.kernels;

import io.qlorastream.engine.compute.Backend;
import io.qlorastream.engine.config.LlamaConfig;

/**
 * Rotary position embedding in Hugging Face's {@code rotate_half} layout: element i of a head pairs with element
 * i + d/2 (not interleaved pairs). {@code q' = q·cos + rotate_half(q)·sin}, {@code rotate_half(x) = cat(-x[d/2:], x[:d/2])}.
 */
public final class Rope {
    private final int headDim;
    private final float[] invFreq;

    public Rope(int headDim, float[] invFreq) {
        if (headDim % 2 != 0 || invFreq.length != headDim / 2) {
            throw new IllegalArgumentException("RoPE needs an even head dim and headDim/2 frequencies");
        }
        this.headDim = headDim;
        this.invFreq = invFreq.clone();
    }

    public static Rope of(LlamaConfig config) {
        return new Rope(config.headDim(), invFreq(config));
    }

    /** {@code inv_freq[i] = theta^(-2i/d)}, then the llama3 scaling when the config has it (as transformers, in fp32). */
    public static float[] invFreq(LlamaConfig c) {
        int half = c.headDim() / 2;
        float[] inv = new float[half];
        for (int i = 0; i < half; i++) {
            inv[i] = (float) (1.0 / Math.pow(c.ropeTheta(), (2.0 * i) / c.headDim()));
        }
        LlamaConfig.RopeScaling s = c.ropeScaling();
        if (s != null) {
            double orig = s.originalMaxPositionEmbeddings();
            double lowWavelen = orig / s.lowFreqFactor();
            double highWavelen = orig / s.highFreqFactor();
            for (int i = 0; i < half; i++) {
                double wavelen = 2 * Math.PI / inv[i];
                if (wavelen > lowWavelen) {
                    inv[i] = (float) (inv[i] / s.factor());
                } else if (wavelen >= highWavelen) {
                    double smooth = (orig / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
                    inv[i] = (float) ((1 - smooth) * inv[i] / s.factor() + smooth * inv[i]);
                }
            }
        }
        return inv;
    }

    public float[] invFreq() {
        return invFreq.clone();
    }

    /** Rotates in place x [n, heads, headDim]; token row i sits at position {@code positions[i]}. */
    public void forward(Backend be, float[] x, int[] positions, int n, int heads) {
        rotate(be, x, positions, n, heads, 1f);
    }

    /** The rotation is orthogonal: the backward rotates the gradient in place by the opposite angle. */
    public void backward(Backend be, float[] dx, int[] positions, int n, int heads) {
        rotate(be, dx, positions, n, heads, -1f);
    }

    private void rotate(Backend be, float[] x, int[] positions, int n, int heads, float sign) {
        int half = headDim / 2;
        int rowLen = heads * headDim;
        be.parallelFor(n, i -> {
            float[] cos = new float[half];
            float[] sin = new float[half];
            for (int f = 0; f < half; f++) {
                float angle = positions[i] * invFreq[f]; // fp32 like transformers' freqs = pos · inv_freq
                cos[f] = (float) Math.cos(angle);
                sin[f] = sign * (float) Math.sin(angle);
            }
            for (int h = 0; h < heads; h++) {
                int off = i * rowLen + h * headDim;
                for (int f = 0; f < half; f++) {
                    float x1 = x[off + f];
                    float x2 = x[off + f + half];
                    x[off + f] = x1 * cos[f] - x2 * sin[f];
                    x[off + f + half] = x2 * cos[f] + x1 * sin[f];
                }
            }
        });
    }
}
