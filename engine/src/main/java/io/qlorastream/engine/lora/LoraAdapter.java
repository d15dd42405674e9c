package io.qlorastream.engine.lora;

import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.config.Projection;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The trainable LoRA parameters of a whole model, laid out once in one flat fp32 array (and one gradient array of
 * the same layout), so the optimizer, gradient clipping and state files work on two arrays. Order: layer by
 * layer, projections in {@link Projection} order, for each A [r, in] then B [out, r].
 */
public final class LoraAdapter {
    public final LoraConfig config;
    public final int numLayers;
    public final float[] params;
    public final float[] grads;
    private final LoraModule[][] modules;
    private final List<LoraModule> all;

    private LoraAdapter(LoraConfig config, LlamaConfig model) {
        this.config = config;
        this.numLayers = model.numLayers();
        long total = 0;
        for (int l = 0; l < numLayers; l++) {
            for (String p : config.targetModules()) {
                int[] shape = Projection.of(p).shape(model);
                total += (long) config.r() * (shape[0] + shape[1]);
            }
        }
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("LoRA adapter of " + total + " parameters is too large for one array");
        }
        params = new float[(int) total];
        grads = new float[(int) total];
        float scaling = (float) config.scaling();
        modules = new LoraModule[numLayers][Projection.values().length];
        List<LoraModule> list = new ArrayList<>();
        int offset = 0;
        for (int l = 0; l < numLayers; l++) {
            for (Projection p : Projection.values()) {
                if (!config.targets(p)) {
                    continue;
                }
                int[] shape = p.shape(model);
                LoraModule m = new LoraModule(l, p, shape[1], shape[0], config.r(), scaling, params, grads, offset);
                modules[l][p.ordinal()] = m;
                list.add(m);
                offset += m.size();
            }
        }
        all = Collections.unmodifiableList(list);
    }

    /** An adapter of all zeros (to be filled by a loader). */
    public static LoraAdapter zeros(LoraConfig config, LlamaConfig model) {
        return new LoraAdapter(config, model);
    }

    /**
     * PEFT's initialisation, deterministic in {@code seed}: every A ~ U(−1/sqrt(in), 1/sqrt(in)) (torch's
     * kaiming_uniform_ with a = sqrt(5)), every B = 0, so the adapted model starts equal to the base model.
     */
    public static LoraAdapter initialize(LoraConfig config, LlamaConfig model, long seed) {
        LoraAdapter a = new LoraAdapter(config, model);
        Rng rng = new Rng(seed);
        for (LoraModule m : a.all) {
            double bound = 1.0 / Math.sqrt(m.in);
            for (int i = 0; i < m.r * m.in; i++) {
                a.params[m.aOffset + i] = (float) (-bound + 2 * bound * rng.nextDouble());
            }
        }
        return a;
    }

    /** The module of {@code projection} in {@code layer}, or null when the config does not target it. */
    public LoraModule module(int layer, Projection projection) {
        if (layer < 0 || layer >= numLayers) {
            throw new IllegalArgumentException("no LoRA module slot for layer " + layer + " " + projection
                    + " (layers 0.." + (numLayers - 1) + ")");
        }
        return modules[layer][projection.ordinal()];
    }

    /** Every module in layout order. */
    public List<LoraModule> modules() {
        return all;
    }

    public int parameterCount() {
        return params.length;
    }

    public void zeroGrads() {
        java.util.Arrays.fill(grads, 0f);
    }
}
