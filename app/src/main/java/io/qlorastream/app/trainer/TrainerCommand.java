package io.qlorastream.app.trainer;

import io.qlorastream.app.metrics.MetricsEndpoint;
import io.qlorastream.app.metrics.MetricsOptions;

import io.qlorastream.app.cli.ComputeOptions;
import io.qlorastream.app.cli.KafkaOptions;
import io.qlorastream.app.cli.TopicOptions;
import io.qlorastream.app.cli.TrainingOptions;
import io.qlorastream.schemas.contract.ConsumerGroups;
import io.qlorastream.schemas.contract.Topic;
import io.qlorastream.store.AdapterStore;
import io.qlorastream.trainer.TrainerConfig;
import io.qlorastream.trainer.TrainerService;
import io.qlorastream.trainer.TrainingCore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.Callable;

/** {@code qlora-stream trainer}: the long-running continuous trainer (see {@link TrainerService}). */
@Command(name = "trainer",
        description = "Train LoRA adapters continuously from training-examples (consumer group qlora-trainer): one lane per "
                + "adapter over the shared base, checkpoints with offsets, snapshots into the adapter store announced on "
                + "adapter-snapshots, untrainable examples to trainer-dlq. Ctrl-C/SIGTERM finishes the step, checkpoints and commits.")
public final class TrainerCommand implements Callable<Integer> {
    @Mixin
    KafkaOptions kafka;

    @Mixin
    ComputeOptions compute;

    @Mixin
    TrainingOptions training;

    @Option(names = "--adapter-store", paramLabel = "LOCATION", defaultValue = "./adapter-store",
            description = "Where snapshots go: a directory, file: URI or s3://bucket/prefix (default: ${DEFAULT-VALUE}).")
    String adapterStore;

    @Option(names = "--checkpoint-dir", paramLabel = "DIR", defaultValue = "./trainer-checkpoints",
            description = "Checkpoints per partition; shared by every instance of the group (default: ${DEFAULT-VALUE}).")
    Path checkpointDir;

    @Option(names = "--checkpoint-every", paramLabel = "N", defaultValue = "10",
            description = "Checkpoint a partition when one of its adapters reaches a multiple of N steps (default: ${DEFAULT-VALUE}).")
    int checkpointEvery;

    @Option(names = "--snapshot-every", paramLabel = "N", defaultValue = "50",
            description = "Snapshot an adapter every N steps (default: ${DEFAULT-VALUE}).")
    int snapshotEvery;

    @Option(names = "--max-wait", paramLabel = "SECONDS", defaultValue = "0",
            description = "Train a partial batch that waited this long on a quiet stream; 0 = never. Trades replay bit-identity "
                    + "for latency (default: ${DEFAULT-VALUE}).")
    double maxWait;

    @Option(names = "--status-interval", paramLabel = "SECONDS", defaultValue = "10",
            description = "A status line per adapter every SECONDS; 0 = a line after every step (default: ${DEFAULT-VALUE}).")
    double statusInterval;

    @Mixin
    TopicOptions topics = new TopicOptions(Topic.TRAINING_EXAMPLES, Topic.ADAPTER_SNAPSHOTS, Topic.TRAINER_DLQ);

    @Option(names = "--group", paramLabel = "ID", defaultValue = ConsumerGroups.TRAINER,
            description = "Consumer group (default: ${DEFAULT-VALUE}).")
    String group;

    @Mixin
    MetricsOptions metrics;

    @Override
    public Integer call() throws Exception {
        try (MetricsEndpoint endpoint = metrics.start("trainer", System.out)) {
            return serve();
        }
    }

    private Integer serve() throws Exception {
        PrintStream out = System.out;
        TrainerConfig config = config(topics.name(Topic.TRAINING_EXAMPLES), topics.name(Topic.ADAPTER_SNAPSHOTS),
                topics.name(Topic.TRAINER_DLQ), group, checkpointDir, checkpointEvery,
                snapshotEvery, maxWait, statusInterval);
        AdapterStore store = AdapterStore.open(adapterStore);
        try (store; TrainingCore core = new TrainingCore(training.model, training.baseModelName, training.spec(), compute::backend)) {
            TrainerService service = trainer(core, config, kafka.clientProperties(), store, out);
            Thread hook = new Thread(() -> {
                service.requestStop();
                try {
                    service.awaitStopped(Duration.ofSeconds(120)); // the loop finishes its step, checkpoints and commits first
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                out.println("Trainer stopped.");
                out.flush();
            }, "trainer-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            out.printf(Locale.ROOT, "Trainer running (group %s, base %s %s): %s -> %s, snapshots every %d steps to %s. Ctrl-C to stop.%n",
                    group, core.baseModelName, core.baseModelHash.substring(0, 12), config.examplesTopic(), config.snapshotsTopic(), snapshotEvery, adapterStore);
            out.flush();
            service.run();
        }
        return 0;
    }

    /** The trainer's settings from this command's options; {@code maxWaitSeconds} 0 never trains a partial batch. */
    public static TrainerConfig config(String examplesTopic, String snapshotsTopic, String dlqTopic, String group,
                                       Path checkpointDir, int checkpointEvery, int snapshotEvery,
                                       double maxWaitSeconds, double statusIntervalSeconds) {
        return new TrainerConfig(examplesTopic, snapshotsTopic, dlqTopic, group, checkpointDir, checkpointEvery,
                snapshotEvery, maxWaitSeconds > 0 ? Duration.ofMillis((long) (maxWaitSeconds * 1000)) : null,
                Duration.ofMillis((long) (Math.max(0, statusIntervalSeconds) * 1000)));
    }

    /** The trainer service as this command runs it, over {@code core}, writing snapshots to {@code store}. */
    public static TrainerService trainer(TrainingCore core, TrainerConfig config, Properties client, AdapterStore store,
                                         PrintStream out) throws IOException {
        return new TrainerService(core, config, client, store, out);
    }
}
