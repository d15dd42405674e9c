package io.qlorastream.app.evaluator;

import io.qlorastream.evaluator.GateThresholds;
import io.qlorastream.evaluator.SnapshotEvaluator;
import io.qlorastream.redact.RedactionType;
import picocli.CommandLine.Option;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/** The gate's thresholds and the scoring settings, shared by {@code evaluator} and {@code evaluate}. */
public final class GateOptions {
    @Option(names = "--min-margin", paramLabel = "NATS", defaultValue = "0.01",
            description = "The candidate's held-out NLL must be below the base's by at least this (default: ${DEFAULT-VALUE}).")
    double minMargin;

    @Option(names = "--release-tolerance", paramLabel = "NATS", defaultValue = "0.01",
            description = "The candidate's held-out NLL may exceed the current release's by at most this (default: ${DEFAULT-VALUE}).")
    double releaseTolerance;

    @Option(names = "--max-general-rise", paramLabel = "NATS", defaultValue = "0.10",
            description = "The general-text NLL may rise over the base's by at most this (default: ${DEFAULT-VALUE}).")
    double maxGeneralRise;

    @Option(names = "--max-leaks", paramLabel = "N", defaultValue = "0",
            description = "Leak-probe completions the redactor may find something in (default: ${DEFAULT-VALUE}).")
    int maxLeaks;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "4",
            description = "Examples per forward pass while scoring (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--max-seq-len", paramLabel = "N", defaultValue = "512",
            description = "Cut longer examples, as training does (default: ${DEFAULT-VALUE}).")
    int maxSeqLen;

    @Option(names = "--general-paragraphs", paramLabel = "N", defaultValue = "1000",
            description = "Paragraphs of the shipped general-text set to score (default: ${DEFAULT-VALUE}, i.e. all).")
    int generalParagraphs;

    @Option(names = "--probe-prompts", paramLabel = "N", defaultValue = "16",
            description = "Held-out prompts the leak probe completes greedily (default: ${DEFAULT-VALUE}).")
    int probePrompts;

    @Option(names = "--probe-max-new-tokens", paramLabel = "N", defaultValue = "48",
            description = "Length of each leak-probe completion (default: ${DEFAULT-VALUE}).")
    int probeMaxNewTokens;

    @Option(names = "--leak-types", paramLabel = "LIST", defaultValue = "all",
            description = "Redaction types the leak probe counts, comma-separated (EMAIL,CARD,AWS_ACCESS_KEY,...) or all (default: ${DEFAULT-VALUE}).")
    String leakTypes;

    public SnapshotEvaluator.Settings settings() {
        return new SnapshotEvaluator.Settings(new GateThresholds(minMargin, releaseTolerance, maxGeneralRise, maxLeaks),
                batchSize, maxSeqLen, generalParagraphs, probePrompts, probeMaxNewTokens, leakTypes());
    }

    private Set<RedactionType> leakTypes() {
        if (leakTypes.isBlank() || leakTypes.strip().equalsIgnoreCase("all")) {
            return EnumSet.allOf(RedactionType.class);
        }
        Set<RedactionType> out = EnumSet.noneOf(RedactionType.class);
        for (String t : leakTypes.split(",")) {
            try {
                out.add(RedactionType.valueOf(t.strip().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--leak-types: unknown type " + t.strip() + " (one of "
                        + Arrays.toString(RedactionType.values()) + " or all)");
            }
        }
        return out;
    }
}
