package io.qlorastream.app.bench;

import io.qlorastream.redact.LabeledCorpus;
import io.qlorastream.redact.RedactionBenchmark;
import io.qlorastream.redact.Redactor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.util.List;
import java.util.concurrent.Callable;

/** {@code qlora-stream bench redact}: recall on the labeled corpus, then throughput on one thread. */
@Command(name = "redact",
        description = "Redaction alone, no Kafka: recall per type and overall on the labeled corpus (planted values gone and "
                + "typed), the share of look-alikes kept, then MB/s on one thread on the labeled corpus and on the mixed "
                + "ticket/log/code text of `bench ingest` (the input of the figures in bench/RESULTS.md).")
public final class BenchRedactCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--mb", paramLabel = "MB", defaultValue = "100",
            description = "Megabytes of text for each throughput measurement (default: ${DEFAULT-VALUE}).")
    int mb;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "" + LabeledCorpus.SEED,
            description = "Corpus seed; the default is the corpus kept in the repository (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() {
        if (mb < 1) {
            throw new ParameterException(spec.commandLine(), "--mb: at least 1, got " + mb);
        }
        List<LabeledCorpus.Sample> samples = LabeledCorpus.generate(seed, LabeledCorpus.SIZE);
        System.out.print(LabeledCorpus.measure(new Redactor(), samples));
        System.err.println("timing the labeled corpus...");
        RedactionBenchmark.Result labeled = RedactionBenchmark.run(samples.stream().map(LabeledCorpus.Sample::text).toList(), mb * 1_000_000L);
        System.out.println("labeled corpus " + labeled);
        System.err.println("timing the mixed text of bench ingest...");
        RedactionBenchmark.Result mixed = RedactionBenchmark.run(mb * 1_000_000L, 42);
        System.out.println("mixed text     " + mixed);
        return 0;
    }
}
