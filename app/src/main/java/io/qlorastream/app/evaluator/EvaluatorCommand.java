package io.qlorastream.app.evaluator;

import io.qlorastream.app.metrics.MetricsEndpoint;
import io.qlorastream.app.metrics.MetricsOptions;

import io.qlorastream.app.cli.ComputeOptions;
import io.qlorastream.app.cli.KafkaOptions;
import io.qlorastream.engine.compute.Backend;
import io.qlorastream.engine.model.BaseModel;
import io.qlorastream.app.cli.TopicOptions;
import io.qlorastream.evaluator.ArtifactFetcher;
import io.qlorastream.evaluator.EvaluatorConfig;
import io.qlorastream.evaluator.EvaluatorService;
import io.qlorastream.evaluator.StoreArtifactFetcher;
import io.qlorastream.evaluator.Reports;
import io.qlorastream.evaluator.Sha256;
import io.qlorastream.evaluator.SnapshotEvaluator;
import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.schemas.contract.ConsumerGroups;
import io.qlorastream.schemas.contract.Topic;
import io.qlorastream.schemas.OneLine;
import io.qlorastream.store.AdapterStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** {@code qlora-stream evaluator}: the service that judges every snapshot on adapter-snapshots. */
@Command(name = "evaluator",
        description = {"Run the evaluator service: judges every AdapterSnapshot on adapter-snapshots against the base model and "
                + "the current release (adapter-releases) on a held-out set built from eval-examples, the shipped general text "
                + "and a leak probe, and writes one AdapterEvaluation per snapshot on adapter-evaluations, exactly once "
                + "(verdict and consumed offset in one Kafka transaction).",
                "Run one instance per --transactional-id; instances of one --group-id share the snapshot partitions."})
public final class EvaluatorCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    KafkaOptions kafka;

    @Mixin
    ComputeOptions compute;

    @Mixin
    GateOptions gate;

    @Option(names = "--model", paramLabel = "DIR", required = true, description = "The base model the adapters were trained on (required).")
    Path model;

    @Option(names = "--adapter-store", paramLabel = "LOCATION", defaultValue = "./adapter-store",
            description = "The adapter store snapshots and releases are fetched from; artifacts elsewhere are refused (default: ${DEFAULT-VALUE}).")
    String adapterStore;

    @Option(names = "--work-dir", paramLabel = "DIR",
            description = "Where fetched files are put while judged (default: a temporary directory).")
    Path workDir;

    @Option(names = "--held-out-size", paramLabel = "N", defaultValue = "256",
            description = "Examples per adapter's held-out set, sampled by SHA-256 of example_id (default: ${DEFAULT-VALUE}).")
    int heldOutSize;

    @Option(names = "--group-id", paramLabel = "ID", defaultValue = ConsumerGroups.EVALUATOR,
            description = "Consumer group of adapter-snapshots (default: ${DEFAULT-VALUE}).")
    String groupId;

    @Option(names = "--transactional-id", paramLabel = "ID", defaultValue = ConsumerGroups.EVALUATOR + "-0",
            description = "Stable per instance: a restart fences its predecessor and aborts its open transaction (default: ${DEFAULT-VALUE}).")
    String transactionalId;

    @Mixin
    TopicOptions topics = new TopicOptions(Topic.ADAPTER_SNAPSHOTS, Topic.EVAL_EXAMPLES, Topic.ADAPTER_RELEASES,
            Topic.ADAPTER_EVALUATIONS);

    @Option(names = "--max-poll-interval", paramLabel = "SECONDS", defaultValue = "1800",
            description = "The longest one evaluation may take before the group hands the partition to another instance (default: ${DEFAULT-VALUE}).")
    long maxPollIntervalSeconds;

    @Mixin
    MetricsOptions metrics;

    @Override
    public Integer call() throws Exception {
        try (MetricsEndpoint endpoint = metrics.start("evaluator", System.out)) {
            return serve();
        }
    }

    private Integer serve() throws Exception {
        SnapshotEvaluator.Settings settings;
        EvaluatorConfig config;
        Path work = workDir != null ? workDir : Files.createTempDirectory("qlora-evaluator-");
        try {
            settings = gate.settings();
            config = new EvaluatorConfig(topics.name(Topic.ADAPTER_SNAPSHOTS), topics.name(Topic.EVAL_EXAMPLES),
                    topics.name(Topic.ADAPTER_RELEASES), topics.name(Topic.ADAPTER_EVALUATIONS), groupId, transactionalId,
                    heldOutSize, work, Duration.ofMillis(500), Duration.ofSeconds(maxPollIntervalSeconds));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (maxPollIntervalSeconds < 1) {
            throw new ParameterException(spec.commandLine(), "--max-poll-interval must be at least 1 second");
        }
        AdapterStore store;
        try {
            store = AdapterStore.open(adapterStore);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--adapter-store " + adapterStore + ": " + e.getMessage());
        }
        PrintStream out = System.out;
        out.println("Loading base model " + model + " ...");
        out.flush();
        // the shutdown hook waits for this: the model and the Kafka clients are closed before the JVM goes
        CountDownLatch finished = new CountDownLatch(1);
        try (AdapterStore closedAtEnd = store;
             Evaluator built = evaluator(config, kafka.clientProperties(), model, compute::backend, settings, store,
                     new Printer(out))) {
            EvaluatorService service = built.service();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                out.println("Stopping evaluator (an evaluation in progress is abandoned uncommitted and judged again on restart)...");
                out.flush();
                service.close();
                try {
                    finished.await(40, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "evaluator-shutdown"));
            try {
                service.run();
            } catch (Exception e) {
                throw new IllegalStateException("evaluator stopped: " + OneLine.of(e), e);
            }
            out.println("Evaluator stopped.");
            out.flush();
        } finally {
            finished.countDown();
        }
        return 0;
    }

    /** An evaluator service and the base model it judges with; closing it frees the model and its backend. */
    public record Evaluator(EvaluatorService service, BaseModel base) implements AutoCloseable {
        @Override
        public void close() {
            base.close();
        }
    }

    /**
     * The evaluator service as this command runs it: the base model at {@code model} opened on a backend from
     * {@code backend}, snapshots fetched from {@code store} (the store stays the caller's to close, after the service).
     */
    public static Evaluator evaluator(EvaluatorConfig config, Properties client, Path model,
                                      Supplier<? extends Backend> backend, SnapshotEvaluator.Settings settings,
                                      AdapterStore store, EvaluatorService.Listener listener) throws IOException {
        String baseHash = Sha256.baseModel(model);
        BaseModel base = BaseModel.open(model, backend);
        SnapshotEvaluator judge = new SnapshotEvaluator(base, baseHash, settings);
        ArtifactFetcher fetcher = new StoreArtifactFetcher(store);
        return new Evaluator(new EvaluatorService(config, client, judge, fetcher, listener), base);
    }

    /** The service's events as lines on stdout: ready, progress, each verdict's report, skips. */
    private static final class Printer implements EvaluatorService.Listener {
        private final PrintStream out;
        private final ProgressPrinter progress;
        private String current;

        Printer(PrintStream out) {
            this.out = out;
            this.progress = new ProgressPrinter(out, "  ");
        }

        @Override
        public void onReady(int judgedSnapshots, long evalExamples) {
            out.println("Evaluator running: " + evalExamples + " eval examples read, " + judgedSnapshots
                    + " snapshots already judged. Ctrl-C to stop.");
            out.flush();
        }

        @Override
        public void onProgress(String adapter, String snapshotId, String stage, int done, int total) {
            String key = adapter + "/" + snapshotId;
            if (!key.equals(current)) {
                current = key;
                out.println("judging " + key + " ...");
            }
            progress.update(stage, done, total);
        }

        @Override
        public void onEvaluation(AdapterEvaluation evaluation) {
            current = null;
            out.println(Reports.text(evaluation));
            out.flush();
        }

        @Override
        public void onSkipped(String adapter, String snapshotId, String why) {
            out.println("skipped " + adapter + "/" + snapshotId + ": " + why);
            out.flush();
        }
    }
}
