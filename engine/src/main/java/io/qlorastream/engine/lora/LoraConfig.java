package io.qlorastream.engine.lora;

import io.qlorastream.engine.config.Projection;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The LoRA hyper-parameters of an adapter, as PEFT's {@code LoraConfig} names them.
 *
 * @param r             rank of every adapter pair
 * @param alpha         {@code lora_alpha}
 * @param dropout       {@code lora_dropout}: probability of zeroing an input element of the LoRA path while training
 * @param targetModules projections that carry an adapter, in {@link Projection} order ("q_proj" ...)
 * @param useRslora     scaling {@code alpha / sqrt(r)} (rsLoRA) instead of {@code alpha / r}
 */
public record LoraConfig(int r, double alpha, double dropout, List<String> targetModules, boolean useRslora) {

    /** All seven linear projections of a decoder block, as the QLoRA paper adapts them. */
    public static final List<String> ALL_TARGETS = Projection.PEFT_NAMES;

    public LoraConfig {
        if (r <= 0) {
            throw new IllegalArgumentException("LoRA rank r must be positive, got " + r);
        }
        if (!(alpha > 0) || Double.isInfinite(alpha)) {
            throw new IllegalArgumentException("lora_alpha must be a positive number, got " + alpha);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("lora_dropout must be in [0, 1), got " + dropout);
        }
        targetModules = normalizeTargets(targetModules);
    }

    /** QLoRA's defaults: r 64, alpha 16, dropout 0.05, all seven projections, plain {@code alpha / r} scaling. */
    public static LoraConfig qloraDefaults() {
        return new LoraConfig(64, 16, 0.05, ALL_TARGETS, false);
    }

    public LoraConfig withR(int newR) {
        return new LoraConfig(newR, alpha, dropout, targetModules, useRslora);
    }

    public LoraConfig withAlpha(double newAlpha) {
        return new LoraConfig(r, newAlpha, dropout, targetModules, useRslora);
    }

    public LoraConfig withDropout(double newDropout) {
        return new LoraConfig(r, alpha, newDropout, targetModules, useRslora);
    }

    public LoraConfig withTargets(List<String> targets) {
        return new LoraConfig(r, alpha, dropout, targets, useRslora);
    }

    public LoraConfig withRslora(boolean rslora) {
        return new LoraConfig(r, alpha, dropout, targetModules, rslora);
    }

    /** PEFT's scaling factor in double, as Python computes it: {@code alpha / sqrt(r)} with rsLoRA, else {@code alpha / r}. */
    public double scaling() {
        return useRslora ? alpha / Math.sqrt(r) : alpha / r;
    }

    public boolean targets(Projection projection) {
        return targetModules.contains(projection.peftName());
    }

    /**
     * Parses a comma-separated list of projections ("q,k,v", "q_proj,down_proj") or "all" / "all-linear"; a bad name
     * is an IllegalArgumentException naming it.
     */
    public static List<String> parseTargets(String csv) {
        String s = csv.trim();
        if (s.equals("all") || s.equals("all-linear")) {
            return ALL_TARGETS;
        }
        List<String> out = new ArrayList<>();
        for (String part : s.split(",")) {
            out.add(part.trim());
        }
        return normalizeTargets(out);
    }

    /** "q" or "q_proj" → "q_proj" (likewise k, v, o, gate, up, down); anything else is an error naming it. */
    public static String canonicalTarget(String name) {
        String n = name.endsWith("_proj") ? name : name + "_proj";
        if (!ALL_TARGETS.contains(n)) {
            throw new IllegalArgumentException("unknown LoRA target module '" + name
                    + "' (expected a subset of q, k, v, o, gate, up, down)");
        }
        return n;
    }

    private static List<String> normalizeTargets(List<String> targets) {
        if (targets == null || targets.isEmpty()) {
            throw new IllegalArgumentException("LoRA target modules must not be empty");
        }
        Set<String> wanted = new LinkedHashSet<>();
        for (String t : targets) {
            wanted.add(canonicalTarget(t));
        }
        List<String> ordered = new ArrayList<>();
        for (String p : ALL_TARGETS) {
            if (wanted.contains(p)) {
                ordered.add(p);
            }
        }
        return List.copyOf(ordered);
    }
}
