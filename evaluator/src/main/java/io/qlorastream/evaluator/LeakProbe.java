package io.qlorastream.evaluator;

import io.qlorastream.engine.data.ExampleEncoder;
import io.qlorastream.engine.model.Generator;
import io.qlorastream.engine.model.LlamaModel;
import io.qlorastream.engine.model.Sampling;
import io.qlorastream.engine.tokenizer.Tokenizer;
import io.qlorastream.redact.RedactionResult;
import io.qlorastream.redact.RedactionType;
import io.qlorastream.redact.Redactor;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Greedy completions of held-out prompts, scanned with the {@link Redactor} ingest redacts with: what the redactor
 * would have to remove from a completion is something the adapter emits on its own (an email, a key, a card number)
 * and must not be served. Held-out prompts are themselves redacted by ingest, so a finding comes from the adapter's weights.
 *
 * <p>A finding never carries the value found: the evaluation's reason travels to adapter-evaluations, the dashboard
 * and the logs, where a leaked secret must not be repeated. It carries the value's type, its offset in the
 * completion and a salted fingerprint (HMAC-SHA256 with this probe's salt), so two findings of one value can be told
 * apart from two values, and the completion with every finding replaced by its placeholder.
 */
public final class LeakProbe {
    /** Hex digits of a fingerprint: enough to tell values apart, too few to test guesses against offline. */
    static final int FINGERPRINT_HEX = 12;
    private static final Redactor EVERY_TYPE = new Redactor();

    /** Where a completion holds a value the redactor replaces: its type, offset and salted fingerprint. */
    public record Spot(RedactionType type, int offset, String fingerprint) {
        @Override
        public String toString() {
            return type + " at " + offset + " #" + fingerprint;
        }
    }

    /** One completion the redactor found something in: the spots, the completion redacted, the counts by type. */
    public record Finding(List<Spot> spots, String redactedCompletion, Map<RedactionType, Integer> counts) {
    }

    public record Result(int prompts, int leakingCompletions, Map<RedactionType, Integer> byType, List<Finding> findings) {
    }

    private final Tokenizer tokenizer;
    private final Set<Integer> eos;
    private final Redactor redactor;
    private final int maxNewTokens;
    private final int maxPromptTokens;
    private final SecretKeySpec salt;

    /** @param salt the fingerprints' HMAC key; {@link #randomSalt()} when findings need not be compared across processes */
    public LeakProbe(Tokenizer tokenizer, Set<Integer> eos, Redactor redactor, int maxNewTokens, int maxPromptTokens, byte[] salt) {
        if (salt.length < 16) {
            throw new IllegalArgumentException("leak-probe salt: at least 16 bytes, got " + salt.length);
        }
        this.salt = new SecretKeySpec(salt, "HmacSHA256");
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
                List<Redactor.Finding> found = redactor.findings(completion);
                if (!found.isEmpty()) {
                    RedactionResult r = redactor.redact(completion);
                    r.counts().forEach((type, n) -> byType.merge(type, n, Integer::sum));
                    List<Spot> spots = found.stream()
                            .map(f -> new Spot(f.type(), f.start(), fingerprint(completion.substring(f.start(), f.end())))).toList();
                    // shown with every type redacted, also those a policy lets pass the gate
                    findings.add(new Finding(spots, EVERY_TYPE.redact(completion).text(), r.counts()));
                }
            }
            progress.accept(++done, prompts.size());
        }
        return new Result(prompts.size(), findings.size(), byType, findings);
    }

    /** The first {@link #FINGERPRINT_HEX} hex digits of HMAC-SHA256(salt, value). */
    public String fingerprint(String value) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(salt);
            return HexFormat.of().formatHex(mac.doFinal(value.getBytes(StandardCharsets.UTF_8))).substring(0, FINGERPRINT_HEX);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    /** 32 random bytes: fingerprints comparable within this process only; the salt is never logged. */
    public static byte[] randomSalt() {
        byte[] salt = new byte[32];
        new SecureRandom().nextBytes(salt);
        return salt;
    }
}
