package io.qlorastream.engine.model;

import io.qlorastream.engine.tensor.WeightMatrix;

import java.util.Objects;

/** One frozen projection of a decoder block: {@code y = W x + b}, W [out, in] (NF4 after loading). */
public final class Linear {
    public final WeightMatrix weight;
    /** [out], or null when the layer has none. */
    public final float[] bias;

    public Linear(WeightMatrix weight, float[] bias) {
        this.weight = Objects.requireNonNull(weight, "weight");
        if (bias != null && bias.length != weight.rows()) {
            throw new IllegalArgumentException("bias has " + bias.length + " values for " + weight.rows() + " outputs");
        }
        this.bias = bias;
    }

    public int inFeatures() {
        return weight.cols();
    }

    public int outFeatures() {
        return weight.rows();
    }
}
