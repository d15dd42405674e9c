package io.qlorastream.ingest;

import io.qlorastream.ingest.redact.RedactionBenchmark;
import io.qlorastream.ingest.sample.SampleGenerator;
import io.qlorastream.ingest.sample.SampleProducer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.UUID;

/**
 * {@code bench ingest}: the same sample events through (a) a plain consumer → producer copy, the floor any Kafka app
 * pays, and (b) the full ingest topology (exactly-once, dedupe repartition, redaction...), on the same broker in the
 * same run; plus the redaction library alone. Each rate is timed from the first record seen to the last one done,
 * so start-up and group rebalances are not counted for either. Not a test: a measurement to report.
 */
public final class IngestBenchmark {
    /** Events per second of the copy and of the topology, their ratio, and the redaction library alone. */
    public record Result(int events, double copyEventsPerSecond, double topologyEventsPerSecond, RedactionBenchmark.Result redaction) {
        public double ratio() {
            return topologyEventsPerSecond / copyEventsPerSecond;
        }

        @Override
        public String toString() {
            return String.format("%d events: plain copy %.0f events/s, ingest topology %.0f events/s, ratio %.2f (goal >= 0.50)%n%s (goal >= 50 MB/s)",
                    events, copyEventsPerSecond, topologyEventsPerSecond, ratio(), redaction);
        }
    }

    private IngestBenchmark() {
    }

    /** {@code client}: bootstrap servers and schema.registry.url of a (fresh, embedded) stack. */
    public static Result run(Properties client, int events, long seed, long redactBytes) throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        IngestConfig c = IngestConfig.with("application.id", "bench-ingest-" + run,
                "topic.tickets", "bench-tickets-" + run, "topic.reviews", "bench-reviews-" + run,
                "topic.training", "bench-training-" + run, "topic.eval", "bench-eval-" + run, "topic.dlq", "bench-dlq-" + run,
                "schema.registry.url", client.getProperty("schema.registry.url"));
        int tickets = events * 3 / 5;
        SampleProducer.produce(client, c, new SampleGenerator(seed).generate(tickets, events - tickets), 0);

        double copy = copy(client, List.of(c.ticketsTopic, c.reviewsTopic), "bench-copy-" + run, events);

        Path stateDir = Files.createTempDirectory("bench-ingest-state");
        Properties streams = new Properties();
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
        RedactionBenchmark.Result redaction = RedactionBenchmark.run(redactBytes, seed);
        return new Result(events, copy, topology, redaction);
    }

    /** Consumes the topics from the start and produces every record's key and value bytes to {@code target}. */
    private static double copy(Properties client, List<String> topics, String target, int events) {
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
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer());
             KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
            consumer.subscribe(topics);
            int copied = 0;
            long t0 = 0;
            long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
            while (copied < events) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
                if (!records.isEmpty() && t0 == 0) {
                    t0 = System.nanoTime();
                }
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    producer.send(new ProducerRecord<>(target, r.key(), r.value()));
                    copied++;
                }
                consumer.commitAsync();
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("copy did not finish: " + copied + " of " + events);
                }
            }
            producer.flush();
            consumer.commitSync();
            return events / ((System.nanoTime() - t0) / 1e9);
        }
    }
}
