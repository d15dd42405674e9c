package io.qlorastream.engine.model;

import java.util.Arrays;
import java.util.Set;
import java.util.function.IntConsumer;

/** Autoregressive generation with a KV cache: the prompt in one chunk, then one token at a time. */
public final class Generator {
    private final LlamaModel model;

    public Generator(LlamaModel model) {
        this.model = model;
    }

    /**
     * Generates up to maxNewTokens after the prompt, stopping after an end-of-sequence token (which is returned and
     * reported like any other). onToken sees each token as soon as it is chosen.
     */
    public int[] generate(int[] prompt, int maxNewTokens, Set<Integer> eosIds, Sampling sampling, IntConsumer onToken) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("empty prompt: generation needs at least one token (e.g. bos)");
        }
        int vocab = model.config().vocabSize();
        LlamaModel.KvCache cache = model.newCache(prompt.length + maxNewTokens);
        Sampling.Picker picker = sampling.picker();
        int[] out = new int[maxNewTokens];
        int produced = 0;
        if (maxNewTokens == 0) {
            return out;
        }
        float[] logits = model.forwardCached(model.allocateDecode(prompt.length, cache.capacity), cache, prompt);
        LlamaModel.Activations step = model.allocateDecode(1, cache.capacity);
        int[] one = new int[1];
        while (true) {
            int next = picker.pick(logits, vocab);
            out[produced++] = next;
            onToken.accept(next);
            if (eosIds.contains(next) || produced == maxNewTokens) {
                break;
            }
            one[0] = next;
            logits = model.forwardCached(step, cache, one);
        }
        return Arrays.copyOf(out, produced);
    }
}
