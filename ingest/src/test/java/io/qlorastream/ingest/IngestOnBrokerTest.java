package io.qlorastream.ingest;

import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.broker.junit.EmbeddedKafkaExtension;
import io.qlorastream.events.TrainingExample;
import io.qlorastream.ingest.sample.SampleGenerator;
import io.qlorastream.ingest.sample.SampleProducer;
import io.qlorastream.schemas.junit.EmbeddedSchemaRegistryExtension;
import io.qlorastream.schemas.registry.server.EmbeddedSchemaRegistry;
import io.qlorastream.schemas.serde.AvroDeserializer;
import io.qlorastream.schemas.serde.AvroSerializer;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Ingest on a real (embedded) broker and registry, exactly-once: a few thousand sample events, the app stopped
 * mid-stream and started again; every input is accounted for, no planted value leaves, no example is duplicated, and
 * the output is the same as the uninterrupted run of the same events through the topology.
 */
@ExtendWith({EmbeddedKafkaExtension.class, EmbeddedSchemaRegistryExtension.class})
class IngestOnBrokerTest {
    private static final int TICKETS = 1200;
    private static final int REVIEWS = 800;

    @Test
    void everyEventAccountedForNothingLeaksAndARestartMidStreamChangesNothing(EmbeddedKafkaBroker broker, EmbeddedSchemaRegistry registry,
                                                                                 @TempDir Path stateDir) throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        IngestConfig config = IngestConfig.with("application.id", "ingest-it-" + run,
                "topic.tickets", "tickets-" + run, "topic.reviews", "reviews-" + run,
                "topic.training", "training-" + run, "topic.eval", "eval-" + run, "topic.dlq", "dlq-" + run,
                "output.partitions", "3", "schema.registry.url", registry.url());
        Properties client = new Properties();
        client.put("bootstrap.servers", broker.bootstrapServers());
        client.put("schema.registry.url", registry.url());
        client.put("state.dir", stateDir.toString());
        client.put("commit.interval.ms", "200");
        IngestMetrics metrics = IngestMetrics.of(config.applicationId);
        SimpleMeterRegistry meters = new SimpleMeterRegistry(); // what --metrics-port would scrape
        Metrics.addRegistry(meters);

        List<SampleGenerator.Sample> samples = new SampleGenerator(2026).generate(TICKETS, REVIEWS);
        int half = samples.size() / 2;
        SampleProducer.produce(client, config, samples.subList(0, half), 0);

        try (IngestApp first = new IngestApp(config, client).start()) {
            assertThat(first.awaitRunning(Duration.ofSeconds(60))).isTrue();
            waitUntil(() -> metrics.inputsAccounted() >= half / 3, Duration.ofSeconds(120), metrics);
            SampleProducer.produce(client, config, samples.subList(half, samples.size()), 0);
        } // stopped mid-stream: the clean close commits what it processed, the rest waits in the topics
        long accountedAtStop = metrics.inputsAccounted();
        assertThat(accountedAtStop).isLessThan(samples.size());

        try (IngestApp second = new IngestApp(config, client).start()) {
            assertThat(second.awaitRunning(Duration.ofSeconds(60))).isTrue();
            waitUntil(() -> metrics.inputsAccounted() >= samples.size(), Duration.ofSeconds(180), metrics);
            Thread.sleep(1000); // anything beyond the count would be a double count: checked below
            assertThat(meters.find("kafka.stream.thread.process.total").tag("application", config.applicationId).functionCounters())
                    .as("Kafka Streams' own metrics are bound").isNotEmpty();
        }
        Metrics.removeRegistry(meters);
        // the Micrometer view counts what the counters count
        String app = config.applicationId;
        assertThat(sumOf(meters, "qlora.ingest.examples", app)).isEqualTo(metrics.get("examples.train") + metrics.get("examples.eval"));
        assertThat(sumOf(meters, "qlora.ingest.dead.letters", app)).isEqualTo(metrics.sum("dead_letters."));
        assertThat(sumOf(meters, "qlora.ingest.filtered", app)).isEqualTo(metrics.sum("filtered."));
        assertThat(sumOf(meters, "qlora.ingest.redactions", app)).isEqualTo(metrics.sum("redactions.")).isPositive();
        assertThat(meters.get("qlora.ingest.events.in").tag("application", app).tag("source", "support_tickets").functionCounter().count())
                .isEqualTo(metrics.get("records_in.support_tickets"));

        assertThat(metrics.inputsAccounted()).as("examples + filtered + dead letters = inputs; %s", metrics.snapshot()).isEqualTo(samples.size());
        assertThat(metrics.get("records_in.support_tickets") + metrics.get("records_in.code_reviews") + metrics.get("dead_letters.deserialization"))
                .isEqualTo(samples.size());

        List<ConsumerRecord<String, TrainingExample>> examples = readExamples(client, config, List.of(config.trainingTopic, config.evalTopic));
        List<ConsumerRecord<byte[], byte[]>> dead = readAll(client, config.dlqTopic);

        // exactly once: each example id once, and as many as counted
        assertThat(examples.stream().map(r -> r.value().getExampleId()).collect(Collectors.toSet())).hasSize(examples.size());
        assertThat((long) examples.size()).isEqualTo(metrics.get("examples.train") + metrics.get("examples.eval"));
        assertThat(examples.stream().map(r -> r.value().getSourceKind() + "/" + r.value().getSourceId()).distinct().count())
                .isEqualTo(metrics.get("inputs_with_examples"));
        assertThat((long) dead.size()).isEqualTo(metrics.sum("dead_letters."));
        assertThat(metrics.sum("filtered.")).isPositive();

        // nothing planted leaves ingest
        List<String> planted = samples.stream().flatMap(s -> s.planted().stream()).distinct().toList();
        assertThat(planted).hasSizeGreaterThan(1000);
        for (ConsumerRecord<String, TrainingExample> r : examples) {
            String text = r.value().getPrompt() + "\n" + r.value().getResponse();
            for (String p : planted) {
                assertThat(text).as("planted value in %s", r.value().getExampleId()).doesNotContain(p);
            }
            assertThat(r.key()).isEqualTo(r.value().getAdapterName());
            assertThat(r.topic()).isEqualTo(r.value().getSplit() == io.qlorastream.events.Split.EVAL ? config.evalTopic : config.trainingTopic);
        }

        // dead letters keep the original bytes, with the error, topic, partition and offset in headers
        Map<String, byte[]> sentRaw = new HashMap<>();
        AvroSerializer<SpecificRecord> avro = new AvroSerializer<>();
        avro.configure(config.serdeConfig, false);
        for (SampleGenerator.Sample s : samples) {
            if (s.event() == null) {
                sentRaw.put(s.key(), s.raw());
            }
        }
        Set<String> deserializationKeys = new HashSet<>();
        for (ConsumerRecord<byte[], byte[]> d : dead) {
            String key = new String(d.key(), StandardCharsets.UTF_8);
            assertThat(header(d, "__streams.errors.topic")).isIn(config.ticketsTopic, config.reviewsTopic);
            assertThat(header(d, "__streams.errors.partition")).matches("[0-2]");
            assertThat(header(d, "__streams.errors.offset")).matches("\\d+");
            assertThat(header(d, "__streams.errors.exception")).isNotBlank();
            if (sentRaw.containsKey(key)) {
                assertThat(d.value()).isEqualTo(sentRaw.get(key));
                if (d.value() != null) {
                    deserializationKeys.add(key);
                }
            }
        }
        assertThat(deserializationKeys).isNotEmpty();
        assertThat((long) deserializationKeys.size()).isEqualTo(metrics.get("dead_letters.deserialization"));

        // the same content as one uninterrupted pass of the same events through the topology
        assertThat(contents(examples.stream().map(ConsumerRecord::value).toList()))
                .isEqualTo(contents(uninterrupted(samples, config, registry)));
    }

    /** Prompt, response and adapter of each example, counted: independent of which duplicate's id won. */
    private static Map<String, Long> contents(List<TrainingExample> examples) {
        return examples.stream().collect(Collectors.groupingBy(e -> e.getAdapterName() + "\u0000" + e.getPrompt() + "\u0000" + e.getResponse(),
                Collectors.counting()));
    }

    private static List<TrainingExample> uninterrupted(List<SampleGenerator.Sample> samples, IngestConfig onBroker, EmbeddedSchemaRegistry registry) {
        IngestConfig c = IngestConfig.with("application.id", onBroker.applicationId + "-ttd", "schema.registry.url", registry.url());
        Properties base = new Properties();
        base.put("bootstrap.servers", "unused:9092");
        AvroSerializer<SpecificRecord> avro = new AvroSerializer<>();
        avro.configure(c.serdeConfig, false);
        Map<String, Object> serde = new HashMap<>(c.serdeConfig);
        serde.put("specific.avro.reader", true);
        try (TopologyTestDriver driver = new TopologyTestDriver(IngestTopology.build(c), IngestTopology.streamsProperties(c, base))) {
            TestInputTopic<String, byte[]> tickets = driver.createInputTopic(c.ticketsTopic, new StringSerializer(), new ByteArraySerializer());
            TestInputTopic<String, byte[]> reviews = driver.createInputTopic(c.reviewsTopic, new StringSerializer(), new ByteArraySerializer());
            for (SampleGenerator.Sample s : samples) {
                String topic = s.isTicketTopic() ? c.ticketsTopic : c.reviewsTopic;
                (s.isTicketTopic() ? tickets : reviews).pipeInput(s.key(), s.event() != null ? avro.serialize(topic, s.event()) : s.raw());
            }
            AvroDeserializer<TrainingExample> d = new AvroDeserializer<TrainingExample>().configured(serde, false);
            TestOutputTopic<String, TrainingExample> train = driver.createOutputTopic(c.trainingTopic, new StringDeserializer(), d);
            TestOutputTopic<String, TrainingExample> eval = driver.createOutputTopic(c.evalTopic, new StringDeserializer(), d);
            List<TrainingExample> all = new ArrayList<>(train.readValuesToList());
            all.addAll(eval.readValuesToList());
            return all;
        }
    }

    private static String header(ConsumerRecord<?, ?> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static void waitUntil(java.util.function.BooleanSupplier done, Duration timeout, IngestMetrics metrics) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out; counters " + metrics.snapshot());
            }
            Thread.sleep(100);
        }
    }

    private static List<ConsumerRecord<String, TrainingExample>> readExamples(Properties client, IngestConfig c, List<String> topics) {
        Map<String, Object> serde = new HashMap<>(c.serdeConfig);
        serde.put("specific.avro.reader", true);
        AvroDeserializer<TrainingExample> d = new AvroDeserializer<TrainingExample>().configured(serde, false);
        return read(client, topics, new StringDeserializer(), d, Function.identity());
    }

    private static List<ConsumerRecord<byte[], byte[]>> readAll(Properties client, String topic) {
        return read(client, List.of(topic), new ByteArrayDeserializer(), new ByteArrayDeserializer(), Function.identity());
    }

    /** Everything committed on the topics, read until 3 s pass with nothing new. */
    private static <K, V, R> List<R> read(Properties client, List<String> topics, org.apache.kafka.common.serialization.Deserializer<K> kd,
                                          org.apache.kafka.common.serialization.Deserializer<V> vd, Function<ConsumerRecord<K, V>, R> map) {
        Properties p = new Properties();
        p.put("bootstrap.servers", client.getProperty("bootstrap.servers"));
        p.put("group.id", "reader-" + UUID.randomUUID());
        p.put("auto.offset.reset", "earliest");
        p.put("isolation.level", "read_committed");
        p.put("enable.auto.commit", "false");
        List<R> out = new ArrayList<>();
        try (KafkaConsumer<K, V> consumer = new KafkaConsumer<>(p, kd, vd)) {
            consumer.subscribe(topics);
            long quietSince = System.nanoTime();
            while (System.nanoTime() - quietSince < 3_000_000_000L) {
                var records = consumer.poll(Duration.ofMillis(200));
                if (!records.isEmpty()) {
                    quietSince = System.nanoTime();
                    records.forEach(r -> out.add(map.apply(r)));
                }
            }
        }
        return out;
    }

    static long sumOf(SimpleMeterRegistry meters, String name, String application) {
        return (long) meters.find(name).tag("application", application).functionCounters().stream()
                .mapToDouble(io.micrometer.core.instrument.FunctionCounter::count).sum();
    }
}
