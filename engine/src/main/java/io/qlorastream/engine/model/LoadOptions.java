package io.qlorastream.engine.model;

/**
 * How {@link ModelLoader} quantizes a full-precision checkpoint (a pre-quantized one keeps its own settings).
 *
 * @param blockSize   NF4 block size (bitsandbytes: 64)
 * @param doubleQuant quantize the absmax too (QLoRA's double quantization)
 */
public record LoadOptions(int blockSize, boolean doubleQuant) {
    public LoadOptions {
        if (blockSize <= 0 || (blockSize & 1) != 0) {
            throw new IllegalArgumentException("block size must be positive and even, got " + blockSize);
        }
    }

    /** Block size 64, double quantization on (QLoRA's defaults). */
    public static LoadOptions defaults() {
        return new LoadOptions(64, true);
    }
}
