package io.qlorastream.app.ingest;

import io.qlorastream.app.cli.KafkaOptions;
import io.qlorastream.ingest.IngestConfig;
import io.qlorastream.ingest.sample.SampleGenerator;
import io.qlorastream.ingest.sample.SampleProducer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;

/** {@code qlora-stream produce-sample}: realistic synthetic tickets and reviews on the input topics. */
@Command(name = "produce-sample",
        description = "Write synthetic support tickets and code reviews (several products and languages, duplicates, bots, "
                + "planted personal data and secrets, a few malformed records) to support-tickets and code-reviews.")
public final class ProduceSampleCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    KafkaOptions kafka;

    @Option(names = "--tickets", paramLabel = "N", defaultValue = "1000", description = "Records for support-tickets (default: ${DEFAULT-VALUE}).")
    int tickets;

    @Option(names = "--reviews", paramLabel = "N", defaultValue = "500", description = "Records for code-reviews (default: ${DEFAULT-VALUE}).")
    int reviews;

    @Option(names = "--rate", paramLabel = "R", defaultValue = "0", description = "Records per second; 0 as fast as possible (default: ${DEFAULT-VALUE}).")
    double rate;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "Random seed: the same seed writes the same records (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() {
        if (tickets < 0) {
            throw new ParameterException(spec.commandLine(), "--tickets: must be 0 or more, got " + tickets);
        }
        if (reviews < 0) {
            throw new ParameterException(spec.commandLine(), "--reviews: must be 0 or more, got " + reviews);
        }
        if (rate < 0 || Double.isNaN(rate)) {
            throw new ParameterException(spec.commandLine(), "--rate: must be 0 or more, got " + rate);
        }
        Properties client = kafka.clientProperties();
        IngestConfig config = IngestCommand.ingestConfig(spec, kafka, client);
        List<SampleGenerator.Sample> samples = new SampleGenerator(seed).generate(tickets, reviews);
        long t0 = System.nanoTime();
        int n = SampleProducer.produce(client, config, samples, rate);
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("Wrote %d records (%d to %s, %d to %s) in %.1f s, seed %d%n", n, tickets, config.ticketsTopic, reviews,
                config.reviewsTopic, s, seed);
        return 0;
    }
}
