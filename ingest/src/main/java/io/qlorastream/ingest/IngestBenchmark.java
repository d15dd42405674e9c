package io.qlorastream.ingest;

import io.qlorastream.ingest.sample.SampleGenerator;
import io.qlorastream.ingest.sample.SampleProducer;
import io.qlorastream.redact.RedactionBenchmark;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

/**
 * {@code bench ingest}: the same sample events through (a) a plain consumer → producer copy, the floor any Kafka app
 * pays, and (b) the full ingest topology (exactly-once, dedupe repartition, redaction...), on the same broker in the
 * same run; plus the redaction library alone. Each rate is timed from the first record seen to the last one done,
 * so start-up and group rebalances are not counted for either. Not a test: a measurement to report.
 */
public final class IngestBenchmark {
    /**
     * Events per second of the plain copy, of the same copy made exactly-once (transactions committed every 100 ms,
     * Kafka Streams' exactly-once commit interval, read_committed), and of the topology, one entry per timed round;
     * and the redaction library alone. Each figure printed is the median over the timed rounds, the ratios the
     * median of each round's own ratio (its copy and topology ran back to back). The goal is {@link #ratio()}
     * (against the plain copy) at 0.5 or more.
     */
    public record Result(int events, int warmupRounds, double lastWarmupJitShare, double[] copyEventsPerSecond,
                         double[] transactionalCopyEventsPerSecond, double[] topologyEventsPerSecond,
                         RedactionBenchmark.Result redaction) {
        public double ratio() {
            return median(ratios(copyEventsPerSecond));
        }

        /** Against the copy that pays what exactly-once pays (transactions, read_committed). */
        public double transactionalRatio() {
            return median(ratios(transactionalCopyEventsPerSecond));
        }

        private double[] ratios(double[] copies) {
            double[] r = new double[copies.length];
            for (int i = 0; i < r.length; i++) {
                r[i] = topologyEventsPerSecond[i] / copies[i];
            }
            return r;
        }

        @Override
        public String toString() {
            double[] r = ratios(copyEventsPerSecond);
            return String.format("%d events, after %d warm-up round(s) (the JIT compiling %.0f%% of the last one's time), "
                            + "medians of %d timed round(s): plain copy %.0f events/s, exactly-once copy %.0f events/s, "
                            + "ingest topology %.0f events/s%n"
                            + "ratio to the plain copy %.2f (rounds %.2f-%.2f; goal >= 0.50), to the exactly-once copy %.2f%n%s (goal >= 50 MB/s)",
                    events, warmupRounds, 100 * lastWarmupJitShare, r.length, median(copyEventsPerSecond),
                    median(transactionalCopyEventsPerSecond), median(topologyEventsPerSecond),
                    ratio(), Arrays.stream(r).min().orElse(Double.NaN), Arrays.stream(r).max().orElse(Double.NaN),
                    transactionalRatio(), redaction);
        }
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private IngestBenchmark() {
    }

    /** Most untimed rounds before the timed ones, by default. */
    public static final int MAX_WARMUP_ROUNDS = 8;
    /** Timed rounds, by default: single rounds of the copy moved by ±20% from one to the next on 2 cores. */
    public static final int TIMED_ROUNDS = 3;
    /** Warm-up ends after a round in which the JIT compiled for less than this share of the round's time. */
    static final double QUIET_JIT_SHARE = 0.10;

    /**
     * {@code client}: bootstrap servers and schema.registry.url of a (fresh, embedded) stack. Produces the sample
     * events once, then reads them in rounds, each a plain copy, an exactly-once copy and the topology (new consumer
     * groups and application id each time). Untimed rounds run first until the JIT is nearly done: until a round in
     * which it compiled for under {@link #QUIET_JIT_SHARE} of the round's time, at most {@code maxWarmupRounds} (0:
     * time a cold start). One round was not enough: on 2 cores the compiler threads still took about half the CPU
     * during the timed topology, and the copy's rate kept rising for several rounds. Then {@code timedRounds} timed
     * rounds. {@code settings} (a {@code --config} file's keys) apply to the topology: {@code qlora.stream.ingest.*}
     * keys to {@link IngestConfig} (the benchmark's own application id and topic names win), every other key to Kafka
     * Streams (say {@code processing.guarantee} or {@code num.stream.threads}), so a setting's cost can be measured.
     * {@code progress} (may be null) gets a line per round.
     */
    public static Result run(Properties client, int events, int maxWarmupRounds, int timedRounds, long seed, long redactBytes,
                             Properties settings, java.io.PrintStream progress) throws Exception {
        if (timedRounds < 1) {
            throw new IllegalArgumentException("timed rounds: at least 1, got " + timedRounds);
        }
        String run = UUID.randomUUID().toString().substring(0, 8);
        Properties ingest = new Properties();
        for (String k : settings.stringPropertyNames()) {
            if (k.startsWith(IngestConfig.PREFIX)) {
                ingest.setProperty(k, settings.getProperty(k));
            }
        }
        String[] fixed = {"topic.tickets", "bench-tickets-" + run, "topic.reviews", "bench-reviews-" + run};
        for (int i = 0; i < fixed.length; i += 2) {
            ingest.setProperty(IngestConfig.PREFIX + fixed[i], fixed[i + 1]);
        }
        ingest.setProperty("schema.registry.url", client.getProperty("schema.registry.url"));
        IngestConfig inputs = IngestConfig.from(ingest);
        int tickets = events * 3 / 5;
        SampleProducer.produce(client, inputs, new SampleGenerator(seed).generate(tickets, events - tickets), 0);
        int rounds = 0;
        double jitShare = Double.NaN;
        if (maxWarmupRounds > 0) {
            java.lang.management.CompilationMXBean jit = java.lang.management.ManagementFactory.getCompilationMXBean();
            do {
                boolean measurable = jit != null && jit.isCompilationTimeMonitoringSupported();
                long compiledBefore = measurable ? jit.getTotalCompilationTime() : 0;
                long t0 = System.nanoTime();
                double[] r = round(client, ingest, settings, events);
                double seconds = (System.nanoTime() - t0) / 1e9;
                // a JVM that cannot say how long it compiled gets one warm-up round
                jitShare = measurable ? (jit.getTotalCompilationTime() - compiledBefore) / 1e3 / seconds : 0;
                rounds++;
                if (progress != null) {
                    progress.printf("warm-up round %d: %.1f s, the JIT compiling %.0f%% of it; copy %.0f, exactly-once copy %.0f, "
                            + "topology %.0f events/s%n", rounds, seconds, 100 * jitShare, r[0], r[1], r[2]);
                }
            } while (jitShare >= QUIET_JIT_SHARE && rounds < maxWarmupRounds);
        }
        double[][] rates = new double[3][timedRounds];
        for (int t = 0; t < timedRounds; t++) {
            double[] r = round(client, ingest, settings, events);
            for (int side = 0; side < 3; side++) {
                rates[side][t] = r[side];
            }
            if (progress != null) {
                progress.printf("timed round %d of %d: copy %.0f, exactly-once copy %.0f, topology %.0f events/s (ratio %.2f)%n",
                        t + 1, timedRounds, r[0], r[1], r[2], r[2] / r[0]);
            }
        }
        RedactionBenchmark.Result redaction = RedactionBenchmark.run(redactBytes, seed);
        return new Result(events, rounds, jitShare, rates[0], rates[1], rates[2], redaction);
    }

    /** One round over the input topics with new groups, application id and output topics: events/s of each. */
    private static double[] round(Properties client, Properties ingestSettings, Properties settings, int events) throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        Properties ingest = new Properties();
        ingest.putAll(ingestSettings);
        String[] fixed = {"application.id", "bench-ingest-" + run,
                "topic.training", "bench-training-" + run, "topic.eval", "bench-eval-" + run, "topic.dlq", "bench-dlq-" + run};
        for (int i = 0; i < fixed.length; i += 2) {
            ingest.setProperty(IngestConfig.PREFIX + fixed[i], fixed[i + 1]);
        }
        IngestConfig c = IngestConfig.from(ingest);
        Properties streams = new Properties();
        for (String k : settings.stringPropertyNames()) {
            if (!k.startsWith(IngestConfig.PREFIX)) {
                streams.setProperty(k, settings.getProperty(k));
            }
        }
        List<String> inputs = List.of(c.ticketsTopic, c.reviewsTopic);

        double copy = copy(client, inputs, "bench-copy-" + run, events, false);
        double transactionalCopy = copy(client, inputs, "bench-txcopy-" + run, events, true);

        Path stateDir = Files.createTempDirectory("bench-ingest-state");
        streams.putAll(client);
        streams.put("state.dir", stateDir.toString());
        IngestMetrics metrics = IngestMetrics.of(c.applicationId);
        double topology;
        try (IngestApp app = new IngestApp(c, streams).start()) {
            long t0 = 0;
            long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
            while (metrics.inputsAccounted() < events) {
                if (t0 == 0 && metrics.sum("records_in.") + metrics.get("dead_letters.deserialization") > 0) {
                    t0 = System.nanoTime();
                }
                if (System.nanoTime() > deadline || app.failure() != null) {
                    throw new IllegalStateException("ingest did not finish: " + metrics.snapshot()
                            + (app.failure() == null ? "" : " " + app.failure()));
                }
                Thread.sleep(2);
            }
            topology = events / ((System.nanoTime() - t0) / 1e9);
        }
        return new double[]{copy, transactionalCopy, topology};
    }

    /**
     * Consumes the topics from the start and produces every record's key and value bytes to {@code target}. With
     * {@code transactional}, as an exactly-once app does it: read_committed, and the produced records and consumed
     * offsets committed in one transaction every 100 ms.
     */
    private static double copy(Properties client, List<String> topics, String target, int events, boolean transactional) {
        Properties cp = new Properties();
        cp.put("bootstrap.servers", client.getProperty("bootstrap.servers"));
        cp.put("group.id", target);
        cp.put("auto.offset.reset", "earliest");
        cp.put("enable.auto.commit", "false");
        Properties pp = new Properties();
        pp.put("bootstrap.servers", client.getProperty("bootstrap.servers"));
        pp.put("acks", "all");
        pp.put("linger.ms", "5");
        pp.put("max.request.size", String.valueOf(IngestTopics.MAX_MESSAGE_BYTES));
        if (transactional) {
            cp.put("isolation.level", "read_committed");
            pp.put("transactional.id", target);
        }
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer());
             KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
            // Know the (auto-created) target's leaders before the first batch: a first batch failing with a retriable
            // error while the next lands would retry forever (KAFKA-14359), and it keeps creation out of the timing.
            producer.partitionsFor(target);
            if (transactional) {
                producer.initTransactions();
            }
            consumer.subscribe(topics);
            int copied = 0;
            long t0 = 0;
            long lastCommit = System.nanoTime();
            boolean open = false;
            long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
            while (copied < events) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
                if (!records.isEmpty() && t0 == 0) {
                    t0 = System.nanoTime();
                }
                if (transactional && !open && !records.isEmpty()) {
                    producer.beginTransaction();
                    open = true;
                }
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    producer.send(new ProducerRecord<>(target, r.key(), r.value()));
                    copied++;
                }
                if (!transactional) {
                    consumer.commitAsync();
                } else if (open && (copied >= events || System.nanoTime() - lastCommit >= 100_000_000L)) {
                    producer.sendOffsetsToTransaction(positions(consumer), consumer.groupMetadata());
                    producer.commitTransaction();
                    open = false;
                    lastCommit = System.nanoTime();
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("copy did not finish: " + copied + " of " + events);
                }
            }
            if (!transactional) {
                producer.flush();
                consumer.commitSync();
            }
            return events / ((System.nanoTime() - t0) / 1e9);
        }
    }

    private static Map<TopicPartition, OffsetAndMetadata> positions(KafkaConsumer<?, ?> consumer) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition tp : consumer.assignment()) {
            offsets.put(tp, new OffsetAndMetadata(consumer.position(tp)));
        }
        return offsets;
    }
}
