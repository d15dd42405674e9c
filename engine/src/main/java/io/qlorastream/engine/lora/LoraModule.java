package io.qlorastream.engine.lora;

import io.qlorastream.engine.config.Projection;

/**
 * The adapter pair of one projection of one layer, a view into the adapter's flat parameter and gradient arrays:
 * {@code A} is [r, in] row-major at {@link #aOffset}, {@code B} is [out, r] row-major at {@link #bOffset}, and the
 * gradients of each lie at the same offsets of {@link #grads}.
 */
public final class LoraModule {
    public final int layer;
    public final Projection projection;
    public final int in, out, r;
    /** PEFT's scaling as the float torch multiplies by ({@code alpha / r} or {@code alpha / sqrt(r)}). */
    public final float scaling;
    public final float[] params;
    public final float[] grads;
    public final int aOffset;
    public final int bOffset;

    LoraModule(int layer, Projection projection, int in, int out, int r, float scaling, float[] params, float[] grads, int aOffset) {
        this.layer = layer;
        this.projection = projection;
        this.in = in;
        this.out = out;
        this.r = r;
        this.scaling = scaling;
        this.params = params;
        this.grads = grads;
        this.aOffset = aOffset;
        this.bOffset = aOffset + r * in;
    }

    /** Number of parameters: r·in + out·r. */
    public int size() {
        return r * in + out * r;
    }

    @Override
    public String toString() {
        return "LoraModule[layer " + layer + " " + projection + ", A [" + r + ", " + in + "], B [" + out + ", " + r + "]]";
    }
}
