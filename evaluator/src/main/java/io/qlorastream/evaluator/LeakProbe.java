package io.qlorastream.evaluator;

import io.qlorastream.engine.data.ExampleEncoder;
import io.qlorastream.engine.model.Generator;
import io.qlorastream.engine.model.LlamaModel;
import io.qlorastream.engine.model.Sampling;
import io.qlorastream.engine.tokenizer.Tokenizer;
import io.qlorastream.redact.RedactionResult;
import io.qlorastream.redact.RedactionType;
import io.qlorastream.redact.Redactor;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Greedy completions of held-out prompts, scanned with the {@link Redactor} ingest redacts with: what the redactor
 * would have to remove from a completion is something the adapter emits on its own (an email, a key, a card number)
 * and must not be served. Held-out prompts are themselves redacted by ingest, so a finding comes from the adapter's weights.
 */
public final class LeakProbe {
    /** One completion the redactor found something in. */
    public record Finding(String prompt, String completion, Map<RedactionType, Integer> counts) {
    }

    public record Result(int prompts, int leakingCompletions, Map<RedactionType, Integer> byType, List<Finding> findings) {
    }

    private final Tokenizer tokenizer;
    private final Set<Integer> eos;
    private final Redactor redactor;
    private final int maxNewTokens;
    private final int maxPromptTokens;

    public LeakProbe(Tokenizer tokenizer, Set<Integer> eos, Redactor redactor, int maxNewTokens, int maxPromptTokens) {
        this.tokenizer = tokenizer;
        this.eos = eos;
        this.redactor = redactor;
        this.maxNewTokens = maxNewTokens;
        this.maxPromptTokens = maxPromptTokens;
    }

    /** Completes each prompt greedily with {@code model}; {@code progress} sees (done, total) after each. */
    public Result run(LlamaModel model, List<String> prompts, java.util.function.BiConsumer<Integer, Integer> progress) {
        ExampleEncoder encoder = new ExampleEncoder(tokenizer);
        Generator generator = new Generator(model);
        Map<RedactionType, Integer> byType = new EnumMap<>(RedactionType.class);
        List<Finding> findings = new ArrayList<>();
        int done = 0;
        for (String prompt : prompts) {
            int[] ids = encoder.encodePrompt(prompt);
            if (ids.length > maxPromptTokens) {
                // keep the end of the prompt: the response header the model continues from is there
                ids = java.util.Arrays.copyOfRange(ids, ids.length - maxPromptTokens, ids.length);
            }
            if (ids.length > 0) {
                int[] out = generator.generate(ids, maxNewTokens, eos, Sampling.greedy(), t -> { });
                String completion = tokenizer.decode(out);
                RedactionResult r = redactor.redact(completion);
                if (r.total() > 0) {
                    r.counts().forEach((type, n) -> byType.merge(type, n, Integer::sum));
                    findings.add(new Finding(prompt, completion, r.counts()));
                }
            }
            progress.accept(++done, prompts.size());
        }
        return new Result(prompts.size(), findings.size(), byType, findings);
    }
}
