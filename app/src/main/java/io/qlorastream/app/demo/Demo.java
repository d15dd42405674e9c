package io.qlorastream.app.demo;

import io.qlorastream.engine.model.BaseModel;
import io.qlorastream.schemas.admin.TopicAdmin;

import io.micrometer.core.instrument.Metrics;
import io.qlorastream.app.dashboard.Dashboard;
import io.qlorastream.app.dashboard.DashboardConfig;
import io.qlorastream.app.dashboard.MetricsSource;
import io.qlorastream.app.evaluator.EvaluatorCommand;
import io.qlorastream.app.ingest.IngestCommand;
import io.qlorastream.app.publisher.PublisherCommand;
import io.qlorastream.app.publisher.SubscribeCommand;
import io.qlorastream.app.trainer.TrainerCommand;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.data.ExampleEncoder;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.engine.model.Generator;
import io.qlorastream.engine.model.LlamaModel;
import io.qlorastream.engine.model.ModelMaker;
import io.qlorastream.engine.model.ModelShape;
import io.qlorastream.engine.model.Sampling;
import io.qlorastream.engine.optim.AdamW;
import io.qlorastream.engine.optim.LrSchedule;
import io.qlorastream.engine.tensor.DType;
import io.qlorastream.engine.tokenizer.ByteLevelBpeWriter;
import io.qlorastream.engine.tokenizer.Tokenizer;
import io.qlorastream.evaluator.EvaluatorConfig;
import io.qlorastream.evaluator.EvaluatorService;
import io.qlorastream.evaluator.GateThresholds;
import io.qlorastream.evaluator.SnapshotEvaluator;
import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.events.TrainingExample;
import io.qlorastream.ingest.IngestApp;
import io.qlorastream.ingest.IngestConfig;
import io.qlorastream.ingest.IngestTopics;
import io.qlorastream.redact.RedactionType;
import io.qlorastream.ingest.sample.SampleGenerator;
import io.qlorastream.ingest.sample.SampleProducer;
import io.qlorastream.publisher.Publisher;
import io.qlorastream.publisher.PublisherConfig;
import io.qlorastream.publisher.PublisherTopics;
import io.qlorastream.publisher.ReleasePolicy;
import io.qlorastream.publisher.subscriber.AdapterSubscriber;
import io.qlorastream.publisher.subscriber.ReleaseListener;
import io.qlorastream.schemas.contract.ConsumerGroups;
import io.qlorastream.schemas.contract.Topic;
import io.qlorastream.schemas.kafka.Consumers;
import io.qlorastream.schemas.registry.server.EmbeddedSchemaRegistry;
import io.qlorastream.schemas.serde.AvroDeserializer;
import io.qlorastream.store.AdapterStore;
import io.qlorastream.trainer.TrainerConfig;
import io.qlorastream.trainer.TrainerService;
import io.qlorastream.trainer.TrainingCore;
import io.qlorastream.trainer.TrainingSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.LoggerFactory;
import org.apache.commons.io.file.PathUtils;

import javax.management.ObjectName;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.stream.Stream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The whole pipeline in one process: the embedded stack (unless a cluster is named), the topics, a tiny base model,
 * ingest, trainer, evaluator, publisher and a subscriber, fed by the sample generator at a steady rate. Every service
 * is built by its module's own public classes, exactly as its command builds it; the demo only picks settings that
 * make a run short and listens to the services for the live view and the report.
 */
public final class Demo {
    public static final List<String> ADAPTERS = List.of("support", "code-review");

    /** What the command line chose. */
    public record Settings(Duration duration, String bootstrapServers, String schemaRegistryUrl, Path reportDir, Path modelCache,
                           Path workDir, double rate, int threads, int snapshotEvery, long seed, int dashboardPort,
                           Duration linger, Properties clientSettings) {
    }

    // The tuned part of the demo: a tiny model and settings under which a genuinely trained adapter beats the base on
    // held-out NLL within a few dozen steps, with the evaluator's default gate (margin, forgetting, no leak).
    static final String MODEL_PRESET = "tiny";
    static final int MAX_SEQ_LEN = 320; // a review prompt (diff hunk) is ~250 tokens of the tiny vocabulary
    static final int BATCH_SIZE = 4;
    static final double LR = 3e-3;
    static final int LORA_R = 8;
    static final double LORA_ALPHA = 16;
    static final double EVAL_FRACTION = 0.2;
    static final int HELD_OUT_SIZE = 24;
    static final int GENERAL_PARAGRAPHS = 16;
    static final int PROBE_PROMPTS = 4;
    static final int PROBE_TOKENS = 32;
    static final int SAMPLE_TOKENS = 48;

    private final Settings s;
    private final StatusView view;
    private final DemoState state = new DemoState(ADAPTERS);
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private volatile String dashboardUrl;
    private volatile boolean stopRequested;
    private final java.util.concurrent.CountDownLatch finished = new java.util.concurrent.CountDownLatch(1);

    public Demo(Settings settings, PrintStream stdout, boolean inPlace) {
        this.s = settings;
        this.view = new StatusView(stdout, inPlace, inPlace ? StatusView.terminalWidth() : Integer.MAX_VALUE);
    }

    /** Ends the run early (Ctrl-C): the services stop cleanly and the report is written for what happened so far. */
    public void requestStop() {
        stopRequested = true;
    }

    /** Waits until {@link #run} has closed everything and written the report. */
    public boolean awaitFinished(Duration timeout) throws InterruptedException {
        return finished.await(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /** Runs the demo, writes the report; true when every adapter was released. */
    public boolean run() throws Exception {
        try {
            return runAndReport();
        } finally {
            finished.countDown();
        }
    }

    private boolean runAndReport() throws Exception {
        long t0 = System.nanoTime();
        Files.createDirectories(s.reportDir());
        boolean tempWork = s.workDir() == null;
        Path work = tempWork ? Files.createTempDirectory("qlora-demo-") : Files.createDirectories(s.workDir());
        PrintStream log = new PrintStream(Files.newOutputStream(s.reportDir().resolve("demo.log")), true, StandardCharsets.UTF_8);
        Appender<ILoggingEvent> restore = redirectLogging(log);
        EmbeddedKafkaBroker broker = null;
        EmbeddedSchemaRegistry registry = null;
        String bootstrap = s.bootstrapServers();
        String registryUrl = s.schemaRegistryUrl();
        String runId = UUID.randomUUID().toString().substring(0, 8);
        Dashboard dashboard = null;
        try {
            if (bootstrap == null) {
                view.println("Starting the embedded Kafka broker and schema registry ...");
                broker = EmbeddedKafkaBroker.builder().build().start();
                registry = EmbeddedSchemaRegistry.builder().bootstrapServers(broker.bootstrapServers()).port(0).build().start();
                bootstrap = broker.bootstrapServers();
                registryUrl = registry.url();
            }
            view.println("Kafka " + bootstrap + ", schema registry " + registryUrl + "; service output in " + s.reportDir().resolve("demo.log"));
            Properties client = new Properties();
            if (broker == null) {
                client.putAll(s.clientSettings()); // a real cluster's security and client settings
            }
            client.setProperty("bootstrap.servers", bootstrap);
            client.setProperty("schema.registry.url", registryUrl);
            Path model = ensureModel(s.modelCache());
            Path storeDir = work.resolve("adapter-store");
            boolean embedded = broker != null;
            // on a shared cluster a second run must not join the first one's groups or fence its transactions
            String suffix = embedded ? "" : "-demo-" + runId;

            // the live dashboard of the pipeline's topics and of the services' meters (read in this process), started
            // before the services so that it sees every meter from the first event on
            dashboard = startDashboard(client);
            if (dashboard != null) {
                dashboardUrl = dashboard.url();
                view.println("Dashboard at " + dashboardUrl + " (live while the demo runs)");
            }

            IngestConfig ingestConfig = IngestConfig.from(ingestProperties(client, work, suffix));
            createTopics(client, ingestConfig, storeDir, work);
            long shouldProduce = Math.max(100, Math.round(s.rate() * s.duration().toSeconds()));
            List<SampleGenerator.Sample> samples = new SampleGenerator(s.seed()).generate((int) (shouldProduce / 2), (int) (shouldProduce - shouldProduce / 2));

            // each service built by its command's own method, with the demo's settings
            IngestApp ingest = IngestCommand.ingest(ingestConfig, streamsClient(client, work));
            ingest.metrics().reset();
            toClose.add(ingest);
            ingest.start();

            TrainerService trainer = startTrainer(client, model, storeDir, work, suffix, log);
            startEvaluator(client, model, storeDir, work, suffix, log);
            PublisherConfig pubConfig = publisherConfig(storeDir, work, suffix);
            Publisher publisher = startPublisher(client, pubConfig, log);
            Path serving = work.resolve("serving");
            startSubscriber(client, serving, pubConfig, publisher, log);

            // the feed: produce-sample's generator and producer at a steady rate
            AtomicBoolean stopFeed = new AtomicBoolean();
            Thread feed = service("demo-feed", () -> {
                int n = SampleProducer.produce(client, ingestConfig, samples, s.rate(), stopFeed::get, state::produced);
                state.produced(n);
            });

            // the live view until both adapters are released, the time is up, or a service fails
            String trainerBean = "io.qlorastream:type=Trainer,instance=" + trainer.metrics().instance();
            long limit = t0 + s.duration().toNanos();
            long interval = view.inPlace() ? 500_000_000L : 10_000_000_000L;
            long nextDraw = 0;
            while (!state.allReleasedAndSubscribed() && System.nanoTime() < limit && failure.get() == null && !stopRequested) {
                refreshCounters(ingest, trainerBean);
                if (System.nanoTime() >= nextDraw) {
                    view.show(lines(t0));
                    nextDraw = System.nanoTime() + interval;
                }
                Thread.sleep(100);
            }
            stopFeed.set(true);
            feed.join(30_000);
            // every produced event accounted for before ingest closes (bounded: a failed ingest must not hang the demo)
            long settle = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (failure.get() == null && System.nanoTime() < settle && !stopRequested) {
                refreshCounters(ingest, trainerBean);
                DemoState.View v = state.view();
                if (v.accounted() >= v.produced()) {
                    break;
                }
                Thread.sleep(200);
            }
            refreshCounters(ingest, trainerBean);
            view.show(lines(t0));
            List<HeldOut> prompts = heldOutPrompts(client, ingestConfig.evalTopic);
            closeServices(log);
            refreshCounters(ingest, trainerBean);

            List<DemoReport.Sample> completions = completions(model, serving, prompts);
            DemoState.View v = state.view();
            double wall = (System.nanoTime() - t0) / 1e9;
            DemoReport.write(s.reportDir(), v, ADAPTERS, completions, storeDir, wall, reportSettings());
            summary(v, wall, completions);
            if (dashboard != null && !s.linger().isZero() && !stopRequested) {
                // the run is over, its final state still worth a look: the page stays up (the broker too) a while
                view.println("The dashboard stays at " + dashboardUrl + " for " + s.linger().toSeconds() + " s (Ctrl-C ends it).");
                long end = System.nanoTime() + s.linger().toNanos();
                while (!stopRequested && System.nanoTime() < end) {
                    Thread.sleep(200);
                }
            }
            Throwable f = failure.get();
            if (f != null) {
                throw new IllegalStateException(f.getMessage(), f);
            }
            return state.allReleased();
        } catch (Exception | Error e) {
            log.println("demo failed: " + e);
            e.printStackTrace(log); // the one-line error on stderr is for people, the trace here for whoever debugs it
            throw e;
        } finally {
            closeServices(log);
            if (dashboard != null) {
                dashboard.close();
            }
            if (registry != null) {
                registry.close();
            }
            if (broker != null) {
                broker.close();
            }
            restoreLogging(restore);
            log.close();
            if (tempWork) {
                deleteTree(work);
            }
        }
    }

    /** The dashboard on 127.0.0.1: on the chosen port, or on a free one when that is taken; null with port -1. */
    private Dashboard startDashboard(Properties client) {
        if (s.dashboardPort() < 0) {
            return null;
        }
        try {
            return Dashboard.start(DashboardConfig.defaults().withListen("127.0.0.1", s.dashboardPort()), client,
                    MetricsSource.inProcess(Metrics.globalRegistry));
        } catch (IllegalArgumentException taken) {
            if (s.dashboardPort() == 0) {
                throw taken;
            }
            view.println("Port " + s.dashboardPort() + " is taken; the dashboard listens on a free one.");
            return Dashboard.start(DashboardConfig.defaults().withListen("127.0.0.1", 0), client,
                    MetricsSource.inProcess(Metrics.globalRegistry));
        }
    }

    private List<String> lines(long t0) {
        return StatusView.lines(state.view(), ADAPTERS, (System.nanoTime() - t0) / 1e9, s.duration().toSeconds());
    }

    private void refreshCounters(IngestApp ingest, String trainerBean) {
        state.ingest(ingest.metrics().snapshot());
        try {
            Object n = ManagementFactory.getPlatformMBeanServer().getAttribute(new ObjectName(trainerBean), "DeadLetters");
            state.trainerDeadLetters(((Number) n).longValue());
        } catch (Exception e) {
            // the trainer's bean goes when it stops: the last figure stays
        }
    }

    private Thread service(String name, Runnable body) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure.compareAndSet(null, new IllegalStateException(name.substring("demo-".length()) + " failed: " + e.getMessage(), e));
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** The trainer as `trainer` builds it, on its own thread; closed (with its model and store) by closeServices. */
    private TrainerService startTrainer(Properties client, Path model, Path storeDir, Path work, String suffix,
                                        PrintStream log) throws IOException {
        AdapterStore trainerStore = AdapterStore.open(storeDir.toString());
        TrainingCore core = new TrainingCore(model, "demo-" + MODEL_PRESET, trainingSpec(), () -> new CpuBackend(s.threads()));
        TrainerConfig trainerConfig = TrainerCommand.config(Topic.TRAINING_EXAMPLES.defaultName(), Topic.ADAPTER_SNAPSHOTS.defaultName(),
                Topic.TRAINER_DLQ.defaultName(), ConsumerGroups.TRAINER + suffix, work.resolve("trainer-checkpoints"),
                s.snapshotEvery(), s.snapshotEvery(), 0, 30);
        TrainerService trainer = TrainerCommand.trainer(core, trainerConfig, client, trainerStore, log).stepListener(new TrainerService.StepListener() {
            @Override
            public void onStep(String adapter, int partition, long step, double loss, double tokensPerSecond) {
                state.step(adapter, step, loss, tokensPerSecond);
            }

            @Override
            public void onSnapshot(AdapterSnapshot snapshot) {
                state.snapshot(snapshot.getAdapterName(), snapshot.getSnapshotId(), snapshot.getStep());
            }
        });
        Thread trainerThread = service("demo-trainer", trainer::run);
        toClose.add(() -> {
            trainer.close();
            trainerThread.join(60_000);
            core.close();
            trainerStore.close();
        });
        return trainer;
    }

    /** The evaluator as `evaluator` builds it, on its own thread; closed (with model and store) by closeServices. */
    private void startEvaluator(Properties client, Path model, Path storeDir, Path work, String suffix,
                                PrintStream log) throws IOException {
        AdapterStore evalStore = AdapterStore.open(storeDir.toString());
        EvaluatorConfig evalConfig = EvaluatorConfig.defaults(Files.createDirectories(work.resolve("evaluator")))
                .withGroup(ConsumerGroups.EVALUATOR + suffix, ConsumerGroups.EVALUATOR + "-demo" + suffix).withHeldOutSize(HELD_OUT_SIZE);
        EvaluatorCommand.Evaluator evalService = EvaluatorCommand.evaluator(evalConfig, client, model, () -> new CpuBackend(s.threads()),
                evaluatorSettings(), evalStore, evaluatorListener(log));
        EvaluatorService evaluator = evalService.service();
        Thread evaluatorThread = service("demo-evaluator", () -> {
            try {
                evaluator.run();
            } catch (Exception e) {
                throw new IllegalStateException("evaluator: " + e.getMessage(), e);
            }
        });
        toClose.add(() -> {
            evaluator.close();
            evaluatorThread.join(60_000);
            evalService.close();
            evalStore.close();
        });
    }

    /** The publisher as `publisher` builds it, its decisions told to the demo's state. */
    private Publisher startPublisher(Properties client, PublisherConfig pubConfig, PrintStream log) throws IOException {
        Publisher publisher = PublisherCommand.publisher(pubConfig, client, o -> {
            log.println(o.line());
            if (o.decision() instanceof ReleasePolicy.Decision.Release r) {
                AdapterRelease rel = o.release();
                Map<String, Double> m = rel.getMetrics();
                state.release(new DemoState.Release(rel.getAdapterName(), r.version(), rel.getSnapshotId(), rel.getReleasedAt().toEpochMilli(),
                        m.getOrDefault("candidate_nll", Double.NaN), m.getOrDefault("base_nll", Double.NaN)));
            } else {
                state.notReleased(o.line());
            }
        });
        toClose.add(publisher);
        publisher.start();
        return publisher;
    }

    /** A serving process's subscriber: verifies each release against the publisher's key and switches `current`. */
    private void startSubscriber(Properties client, Path serving, PublisherConfig pubConfig, Publisher publisher,
                                 PrintStream log) {
        AdapterSubscriber subscriber = SubscribeCommand.subscriber(client, serving, pubConfig.releasesTopic(),
                publisher.keys().publicKey()).adapters(ADAPTERS).listener(new ReleaseListener() {
                    @Override
                    public void installed(AdapterRelease r, Path versionDir, Integer replaced) {
                        log.println("subscriber: " + r.getAdapterName() + " v" + r.getVersion() + " is current: " + versionDir);
                        state.subscribed(r.getAdapterName(), r.getVersion());
                    }

                    @Override
                    public void refused(AdapterRelease r, String reason) {
                        log.println("subscriber refused " + r.getAdapterName() + " v" + r.getVersion() + ": " + reason);
                    }
                }).build();
        toClose.add(subscriber);
        subscriber.start();
    }

    private synchronized void closeServices(PrintStream log) {
        for (int i = toClose.size() - 1; i >= 0; i--) { // the reverse of the start order: consumers of a topic before its producers
            try {
                toClose.get(i).close();
            } catch (Exception e) {
                log.println("closing: " + e);
            }
        }
        toClose.clear();
    }

    private EvaluatorService.Listener evaluatorListener(PrintStream log) {
        return new EvaluatorService.Listener() {
            @Override
            public void onProgress(String adapter, String snapshotId, String stage, int done, int total) {
                state.activity("judging " + adapter + " " + snapshotId + ": " + stage + " " + done + "/" + total);
            }

            @Override
            public void onEvaluation(AdapterEvaluation e) {
                log.println(io.qlorastream.evaluator.Reports.text(e));
                Map<String, Double> m = e.getMetrics();
                state.evaluation(new DemoState.Evaluation(e.getAdapterName(), e.getSnapshotId(), e.getStep(),
                        m.getOrDefault("candidate_nll", Double.NaN), m.getOrDefault("base_nll", Double.NaN), e.getCurrentReleaseVersion(),
                        e.getPassed(), e.getReason()));
            }

            @Override
            public void onSkipped(String adapter, String snapshotId, String why) {
                log.println("evaluator skipped " + adapter + "/" + snapshotId + ": " + why);
            }
        };
    }

    static TrainingSpec trainingSpec() {
        return new TrainingSpec(new LoraConfig(LORA_R, LORA_ALPHA, 0.05, LoraConfig.ALL_TARGETS, false), 42, BATCH_SIZE, 1, MAX_SEQ_LEN,
                LrSchedule.Kind.CONSTANT, LR, 0, 0.0, 0, AdamW.Config.qlora(), 1.0, false);
    }

    static SnapshotEvaluator.Settings evaluatorSettings() {
        // the evaluator's default gate; only the amount of scoring is cut to what a demo needs
        return new SnapshotEvaluator.Settings(GateThresholds.defaults(), 4, MAX_SEQ_LEN, GENERAL_PARAGRAPHS, PROBE_PROMPTS, PROBE_TOKENS,
                EnumSet.allOf(RedactionType.class));
    }

    private PublisherConfig publisherConfig(Path storeDir, Path work, String suffix) {
        PublisherConfig d = PublisherConfig.defaults(storeDir.toString(), work.resolve("publisher-keys"));
        return d.withGroup(ConsumerGroups.PUBLISHER + suffix, ConsumerGroups.PUBLISHER + "-demo" + suffix);
    }

    private Properties ingestProperties(Properties client, Path work, String suffix) {
        Properties p = new Properties();
        p.putAll(client);
        p.setProperty(IngestConfig.PREFIX + "split.eval.fraction", Double.toString(EVAL_FRACTION));
        p.setProperty(IngestConfig.PREFIX + "application.id", ConsumerGroups.INGEST + suffix);
        return p;
    }

    private static Properties streamsClient(Properties client, Path work) {
        Properties p = new Properties();
        p.putAll(client);
        p.setProperty("state.dir", work.resolve("ingest-state").toString());
        return p;
    }

    /** The contract's topics: ingest's and the publisher's through their own functions, the rest with the contract's configs. */
    private void createTopics(Properties client, IngestConfig ingestConfig, Path storeDir, Path work) throws Exception {
        IngestTopics.createMissing(client, ingestConfig, true);
        PublisherTopics.createMissing(client, publisherConfig(storeDir, work, ""));
        // the trainer's and the evaluator's output topics, which those services leave to the deployment (topic-init)
        TopicAdmin.createMissing(client, Stream.of(Topic.ADAPTER_SNAPSHOTS, Topic.ADAPTER_EVALUATIONS, Topic.TRAINER_DLQ)
                .map(t -> TopicAdmin.newTopic(t, t.defaultName(), 1, (short) 1)).toList());
    }

    /** The tiny base model, made once by ModelMaker and kept in {@code cache} (written aside, then renamed into place). */
    static Path ensureModel(Path cache) throws IOException {
        Path dir = cache.resolve(MODEL_PRESET);
        if (Files.isRegularFile(dir.resolve("model.safetensors")) && Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            return dir;
        }
        Files.createDirectories(cache);
        Path tmp = Files.createTempDirectory(cache, ".making-");
        ModelShape shape = ModelShape.preset(MODEL_PRESET);
        ByteLevelBpeWriter.write(tmp, shape.vocabSize());
        Integer bos;
        Integer eos;
        try (Tokenizer tokenizer = Tokenizer.load(tmp)) {
            bos = tokenizer.bosId();
            eos = tokenizer.eosIds().stream().min(Integer::compare).orElse(null);
        }
        ModelMaker.write(tmp, shape, 0, DType.BF16, bos, eos);
        try {
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            deleteTree(tmp); // another run made it first
            if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
                throw e;
            }
        }
        return dir;
    }

    record HeldOut(String adapter, String prompt, String response) {
    }

    /**
     * Per adapter, the eval example with the smallest SHA-256 of its id: the one the evaluator's bottom-k held-out set
     * always holds, so the sample prompt is one no adapter trained on.
     */
    private static List<HeldOut> heldOutPrompts(Properties client, String topic) {
        Map<String, Object> c = new HashMap<>();
        Consumers.readCommitted(client, null).forEach((k, v) -> c.put(k.toString(), v));
        c.put("specific.avro.reader", "true");
        Map<String, String[]> best = new LinkedHashMap<>();
        try (AvroDeserializer<Object> d = new AvroDeserializer<>()) {
            d.configure(c, false);
            try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(c, new StringDeserializer(),
                    new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
                List<TopicPartition> parts = consumer.partitionsFor(topic, Duration.ofSeconds(10)).stream()
                        .map(p -> new TopicPartition(topic, p.partition())).toList();
                consumer.assign(parts);
                consumer.seekToBeginning(parts);
                Map<TopicPartition, Long> end = consumer.endOffsets(parts);
                long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (System.nanoTime() < deadline && parts.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                    for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                        if (d.deserialize(topic, r.value()) instanceof TrainingExample e) {
                            String h = sha256(e.getExampleId());
                            String[] cur = best.get(e.getAdapterName());
                            if (cur == null || h.compareTo(cur[0]) < 0) {
                                best.put(e.getAdapterName(), new String[]{h, e.getPrompt(), e.getResponse()});
                            }
                        }
                    }
                }
            }
        } catch (RuntimeException e) {
            return List.of(); // the report then says there is no sample; the demo's verdict does not depend on it
        }
        List<HeldOut> out = new ArrayList<>();
        for (String a : ADAPTERS) {
            if (best.containsKey(a)) {
                out.add(new HeldOut(a, best.get(a)[1], best.get(a)[2]));
            }
        }
        return out;
    }

    /** Greedy completions of each held-out prompt by the base alone and with the subscriber's current release. */
    private List<DemoReport.Sample> completions(Path model, Path serving, List<HeldOut> prompts) throws IOException {
        List<DemoReport.Sample> out = new ArrayList<>();
        DemoState.View v = state.view();
        try (BaseModel base = BaseModel.open(model, () -> new CpuBackend(s.threads()))) {
            Tokenizer tokenizer = base.tokenizer();
            Set<Integer> eos = base.eosIds();
            ExampleEncoder encoder = new ExampleEncoder(tokenizer);
            for (HeldOut h : prompts) {
                Integer version = v.subscribed().get(h.adapter());
                Path dir = serving.resolve(h.adapter()).resolve("v" + version);
                if (version == null || !Files.isDirectory(dir)) {
                    continue;
                }
                int[] prompt = encoder.encodePrompt(h.prompt());
                if (prompt.length > MAX_SEQ_LEN - SAMPLE_TOKENS) {
                    prompt = Arrays.copyOfRange(prompt, prompt.length - (MAX_SEQ_LEN - SAMPLE_TOKENS), prompt.length);
                }
                LlamaModel plain = base.model();
                LlamaModel adapted = base.model();
                adapted.attachLora(PeftAdapter.load(dir, base.config()), null);
                out.add(new DemoReport.Sample(h.adapter(), version, h.prompt(), h.response(),
                        complete(tokenizer, plain, prompt, eos), complete(tokenizer, adapted, prompt, eos)));
            }
        }
        return out;
    }

    private static String complete(Tokenizer tokenizer, LlamaModel model, int[] prompt, Set<Integer> eos) {
        return tokenizer.decode(new Generator(model).generate(prompt, SAMPLE_TOKENS, eos, Sampling.greedy(), t -> { }));
    }

    private Map<String, Object> reportSettings() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("duration", s.duration().toString().substring(2).toLowerCase());
        m.put("rate", s.rate());
        m.put("model", MODEL_PRESET + " preset (" + ModelShape.preset(MODEL_PRESET).parameterCount() + " parameters)");
        m.put("lora", "r " + LORA_R + ", alpha " + (int) LORA_ALPHA + ", all-linear");
        m.put("batch_size", BATCH_SIZE);
        m.put("lr", LR);
        m.put("max_seq_len", MAX_SEQ_LEN);
        m.put("snapshot_every", s.snapshotEvery());
        m.put("eval_fraction", EVAL_FRACTION);
        m.put("held_out_size", HELD_OUT_SIZE);
        m.put("gate", "evaluator defaults (min margin " + GateThresholds.DEFAULT_MIN_MARGIN + ", max general rise "
                + GateThresholds.DEFAULT_MAX_GENERAL_RISE + ", no leak)");
        m.put("threads", s.threads());
        return m;
    }

    private void summary(DemoState.View v, double wall, List<DemoReport.Sample> completions) {
        view.println("");
        view.println(String.format(java.util.Locale.ROOT, "Demo finished in %s: %s", StatusView.clock(wall),
                state.allReleased() ? "every adapter was released." : "NOT every adapter was released."));
        view.println(String.format(java.util.Locale.ROOT,
                "  events produced %d = %d gave examples + %d filtered + %d dead letters (%s)", v.produced(),
                v.ingestCounter("inputs_with_examples"), v.ingestSum("filtered."), v.ingestSum("dead_letters."),
                v.accounted() == v.produced() ? "all accounted for" : "accounted " + v.accounted()));
        for (String a : ADAPTERS) {
            DemoState.AdapterView av = v.adapters().get(a);
            long evals = v.evaluations().stream().filter(e -> e.adapter().equals(a)).count();
            long passed = v.evaluations().stream().filter(e -> e.adapter().equals(a) && e.passed()).count();
            Integer rel = v.releasedVersion(a);
            view.println(String.format(java.util.Locale.ROOT, "  %-12s %d steps, loss %s, %d evaluations (%d passed), release %s", a,
                    av == null ? 0 : av.step, av == null || Double.isNaN(av.loss) ? "-" : String.format(java.util.Locale.ROOT, "%.4f", av.loss),
                    evals, passed, rel == null ? "none" : "v" + rel));
        }
        for (DemoReport.Sample c : completions) {
            view.println("  a held-out " + c.adapter() + " prompt, greedy: base model \"" + StatusView.shorten(c.base(), 60) + "\"; "
                    + c.adapter() + " v" + c.version() + " \"" + StatusView.shorten(c.adapted(), 90) + "\"");
        }
        view.println("  report: " + s.reportDir().resolve(DemoReport.REPORT));
        if (dashboardUrl != null) {
            view.println("  dashboard: " + dashboardUrl + (s.linger().isZero() ? " (closed with the demo; --linger keeps it up)" : ""));
        }
    }

    /** Sends every log event to {@code log} instead of stderr while the live view owns the terminal. */
    private static Appender<ILoggingEvent> redirectLogging(PrintStream log) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
            return null;
        }
        ch.qos.logback.classic.Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        Appender<ILoggingEvent> stderr = root.getAppender("STDERR");
        PatternLayoutEncoder enc = new PatternLayoutEncoder();
        enc.setContext(ctx);
        enc.setPattern("%d{HH:mm:ss.SSS} %-5level %logger{30} - %msg%n");
        enc.start();
        OutputStreamAppender<ILoggingEvent> file = new OutputStreamAppender<>();
        file.setName("DEMO_LOG");
        file.setContext(ctx);
        file.setEncoder(enc);
        file.setOutputStream(new OutputStream() { // the PrintStream stays open: the demo closes it
            @Override
            public void write(int b) {
                log.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                log.write(b, off, len);
            }

            @Override
            public void flush() {
                log.flush();
            }
        });
        file.start();
        root.addAppender(file);
        if (stderr != null) {
            root.detachAppender(stderr);
        }
        return stderr;
    }

    private static void restoreLogging(Appender<ILoggingEvent> stderr) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
            return;
        }
        ch.qos.logback.classic.Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        Appender<ILoggingEvent> file = root.getAppender("DEMO_LOG");
        if (file != null) {
            root.detachAppender(file);
            file.stop();
        }
        if (stderr != null) {
            root.addAppender(stderr);
        }
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteTree(Path dir) {
        try {
            PathUtils.delete(dir);
        } catch (IOException ignored) {
            // a temporary file left behind is not worth failing the demo for
        }
    }
}
