package io.qlorastream.app.trainer;

import io.qlorastream.app.cli.ComputeOptions;
import io.qlorastream.app.cli.KafkaOptions;
import io.qlorastream.app.cli.TopicOptions;
import io.qlorastream.app.cli.TrainingOptions;
import io.qlorastream.schemas.contract.Topic;
import io.qlorastream.trainer.Retrain;
import io.qlorastream.trainer.TrainingCore;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code qlora-stream retrain}: a fresh lineage of an adapter from a range of training-examples (see {@link Retrain}). */
@Command(name = "retrain",
        description = "Train a fresh lineage of an adapter from a range of training-examples, with the live trainer's settings "
                + "and rules, and emit its snapshots like the live trainer. With the same range and settings the adapter is "
                + "bit-identical to the live one at the same offsets.")
public final class RetrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    KafkaOptions kafka;

    @Mixin
    ComputeOptions compute;

    @Mixin
    TrainingOptions training;

    @Option(names = "--adapter", paramLabel = "NAME", required = true, description = "The adapter whose examples are replayed (required).")
    String adapter;

    @Option(names = "--as", paramLabel = "NAME", description = "Name of the retrained adapter (default: --adapter's).")
    String as;

    static final class From {
        @Option(names = "--from-beginning", description = "From the earliest retained example (the default).")
        boolean beginning;

        @Option(names = "--from-timestamp", paramLabel = "T", description = "From the first example at or after T (ISO-8601 or epoch ms).")
        String timestamp;

        @Option(names = "--from-offsets", paramLabel = "P:O,...", description = "From these offsets (other partitions from the beginning).")
        String offsets;
    }

    static final class To {
        @Option(names = "--to-timestamp", paramLabel = "T", description = "Up to (excluding) the first example at or after T.")
        String timestamp;

        @Option(names = "--to-offsets", paramLabel = "P:O,...", description = "Up to these offsets, exclusive (other partitions are not read).")
        String offsets;
    }

    @ArgGroup(exclusive = true)
    From from = new From();

    @ArgGroup(exclusive = true)
    To to = new To();

    @Option(names = "--adapter-store", paramLabel = "LOCATION", defaultValue = "./adapter-store",
            description = "Where snapshots go: a directory, file: URI or s3://bucket/prefix (default: ${DEFAULT-VALUE}).")
    String adapterStore;

    @Option(names = "--snapshot-every", paramLabel = "N", defaultValue = "50",
            description = "Snapshot every N steps, and at the end of the range (default: ${DEFAULT-VALUE}).")
    int snapshotEvery;

    @Mixin
    TopicOptions topics = new TopicOptions(Topic.TRAINING_EXAMPLES, Topic.ADAPTER_SNAPSHOTS);

    @Override
    public Integer call() throws Exception {
        if (snapshotEvery < 1) {
            throw new ParameterException(spec.commandLine(), "--snapshot-every must be at least 1, got " + snapshotEvery);
        }
        Retrain.Range range = new Retrain.Range(
                from.timestamp == null ? null : timestamp("--from-timestamp", from.timestamp),
                from.offsets == null ? null : offsets("--from-offsets", from.offsets),
                to.timestamp == null ? null : timestamp("--to-timestamp", to.timestamp),
                to.offsets == null ? null : offsets("--to-offsets", to.offsets));
        io.qlorastream.store.AdapterStore store = io.qlorastream.store.AdapterStore.open(adapterStore);
        Path scratch = Files.createTempDirectory("qlora-retrain");
        try (store; TrainingCore core = new TrainingCore(training.model, training.baseModelName, training.spec(), compute::backend)) {
            Retrain.run(core, topics.name(Topic.TRAINING_EXAMPLES), topics.name(Topic.ADAPTER_SNAPSHOTS), adapter, as == null ? adapter : as, range, snapshotEvery,
                    kafka.clientProperties(), store, scratch, System.out);
        } finally {
            Files.deleteIfExists(scratch);
        }
        return 0;
    }

    private long timestamp(String option, String value) {
        try {
            return value.matches("\\d+") ? Long.parseLong(value) : Instant.parse(value).toEpochMilli();
        } catch (DateTimeParseException e) {
            throw new ParameterException(spec.commandLine(), option + ": not an ISO-8601 instant or epoch milliseconds: " + value);
        }
    }

    private Map<Integer, Long> offsets(String option, String value) {
        Map<Integer, Long> m = new LinkedHashMap<>();
        for (String part : value.split(",")) {
            String[] po = part.trim().split(":");
            try {
                if (po.length != 2) throw new NumberFormatException();
                m.put(Integer.parseInt(po[0].trim()), Long.parseLong(po[1].trim()));
            } catch (NumberFormatException e) {
                throw new ParameterException(spec.commandLine(), option + ": expected PARTITION:OFFSET[,...], got " + part);
            }
        }
        return m;
    }
}
