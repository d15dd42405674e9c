package io.qlorastream.ingest;

import io.qlorastream.broker.junit.EmbeddedKafkaExtension;
import io.qlorastream.events.AuthorRole;
import io.qlorastream.events.CodeReview;
import io.qlorastream.events.SourceKind;
import io.qlorastream.events.Split;
import io.qlorastream.events.SupportTicket;
import io.qlorastream.events.TicketStatus;
import io.qlorastream.events.TrainingExample;
import io.qlorastream.ingest.sample.SampleGenerator;
import io.qlorastream.schemas.junit.EmbeddedSchemaRegistryExtension;
import io.qlorastream.schemas.registry.server.EmbeddedSchemaRegistry;
import io.qlorastream.schemas.serde.AvroDeserializer;
import io.qlorastream.schemas.serde.AvroSerializer;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyDescription;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;

import static io.qlorastream.ingest.TestEvents.msg;
import static io.qlorastream.ingest.TestEvents.review;
import static io.qlorastream.ingest.TestEvents.ticket;
import static org.assertj.core.api.Assertions.assertThat;

/** The whole topology in a TopologyTestDriver, with the real serdes against a real (embedded) schema registry. */
@ExtendWith({EmbeddedKafkaExtension.class, EmbeddedSchemaRegistryExtension.class})
class IngestTopologyTest {
    private final EmbeddedSchemaRegistry registry;
    private TopologyTestDriver driver;
    private IngestConfig config;
    private IngestMetrics metrics;
    private TestInputTopic<String, byte[]> tickets;
    private TestInputTopic<String, byte[]> reviews;
    private TestOutputTopic<String, TrainingExample> training;
    private TestOutputTopic<String, TrainingExample> eval;
    private TestOutputTopic<byte[], byte[]> dlq;
    private AvroSerializer<SpecificRecord> avro;

    IngestTopologyTest(EmbeddedSchemaRegistry registry) {
        this.registry = registry;
    }

    private void start(String... settings) {
        List<String> kv = new ArrayList<>(List.of(settings));
        kv.addAll(List.of("application.id", "ingest-ttd-" + UUID.randomUUID(), "schema.registry.url", registry.url()));
        config = IngestConfig.with(kv.toArray(String[]::new));
        metrics = IngestMetrics.of(config.applicationId);
        Properties base = new Properties();
        base.put("bootstrap.servers", "unused:9092");
        driver = new TopologyTestDriver(IngestTopology.build(config), IngestTopology.streamsProperties(config, base), Instant.ofEpochMilli(1_767_225_600_000L));
        tickets = driver.createInputTopic(config.ticketsTopic, new StringSerializer(), new ByteArraySerializer());
        reviews = driver.createInputTopic(config.reviewsTopic, new StringSerializer(), new ByteArraySerializer());
        Map<String, Object> serde = new HashMap<>(config.serdeConfig);
        serde.put("specific.avro.reader", true);
        AvroDeserializer<TrainingExample> examples = new AvroDeserializer<TrainingExample>().configured(serde, false);
        training = driver.createOutputTopic(config.trainingTopic, new StringDeserializer(), examples);
        eval = driver.createOutputTopic(config.evalTopic, new StringDeserializer(), examples);
        dlq = driver.createOutputTopic(config.dlqTopic, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        avro = new AvroSerializer<>();
        avro.configure(config.serdeConfig, false);
    }

    @AfterEach
    void close() {
        if (driver != null) {
            driver.close();
        }
    }

    private byte[] bytes(String topic, SpecificRecord event) {
        return avro.serialize(topic, event);
    }

    private void send(SupportTicket t) {
        tickets.pipeInput(t.getTicketId(), bytes(config.ticketsTopic, t));
    }

    private void send(CodeReview r) {
        reviews.pipeInput(r.getReviewId(), bytes(config.reviewsTopic, r));
    }

    private List<TestRecord<String, TrainingExample>> allExamples() {
        List<TestRecord<String, TrainingExample>> all = new ArrayList<>(training.readRecordsToList());
        all.addAll(eval.readRecordsToList());
        return all;
    }

    @Test
    void stepsAreNamed() {
        start();
        TopologyDescription d = IngestTopology.build(config).describe();
        String text = d.toString();
        assertThat(text).contains("read-support-tickets", "validate-support-tickets", "read-code-reviews", "validate-code-reviews",
                "merge", "filter", "key-by-content-hash", "by-content-hash", "dedupe", "format", "redact", "route", "assign-split",
                "write-training-examples", "write-eval-examples");
    }

    @Test
    void aTicketBecomesOneRedactedExamplePerAgentReplyKeyedByAdapter() {
        start("split.eval.fraction", "0");
        SupportTicket t = ticket().setCustomerName("Jane Doe").setCustomerEmail("jane.doe@example.com").setCustomerAccountId("ACC-445566")
                .setMessages(new ArrayList<>(List.of(
                        msg(AuthorRole.CUSTOMER, "I am Jane Doe (ACC-445566), card 4111 1111 1111 1111 was charged twice. Mail jane.doe@example.com"),
                        msg(AuthorRole.AGENT, "Hello Jane, I refunded the second charge; write to jane.doe@example.com if it does not show up."),
                        msg(AuthorRole.CUSTOMER, "Thanks! My key AKIAIOSFODNN7EXAMPLE leaked, can you rotate it?"),
                        msg(AuthorRole.AGENT, "Done: the key is revoked and a new one is in your console, Jane.")))).build();
        send(t);
        List<TestRecord<String, TrainingExample>> out = allExamples();
        assertThat(out).hasSize(2);
        assertThat(out).allSatisfy(r -> {
            assertThat(r.key()).isEqualTo("support");
            TrainingExample e = r.value();
            assertThat(e.getAdapterName()).isEqualTo("support");
            assertThat(e.getSourceKind()).isEqualTo(SourceKind.SUPPORT_TICKET);
            assertThat(e.getSourceId()).isEqualTo("T-1");
            assertThat(e.getSource().getTopic()).isEqualTo("support-tickets");
            assertThat(e.getSplit()).isEqualTo(Split.TRAIN);
            assertThat(e.getPrompt() + e.getResponse()).doesNotContain("Jane", "ACC-445566", "4111 1111 1111 1111", "jane.doe@example.com", "AKIAIOSFODNN7EXAMPLE");
        });
        TrainingExample first = out.get(0).value();
        assertThat(first.getExampleId()).isEqualTo("ticket/T-1/1");
        assertThat(first.getPrompt()).contains("Product: Billing", "Subject: Wrong invoice amount", "<NAME_1>", "<ACCOUNT_ID_1>", "<CARD_1>", "<EMAIL_1>");
        assertThat(first.getResponse()).isEqualTo("Hello <NAME_1>, I refunded the second charge; write to <EMAIL_1> if it does not show up.");
        assertThat(first.getRedactions()).containsEntry("EMAIL", 2).containsEntry("CARD", 1).containsEntry("ACCOUNT_ID", 1);
        TrainingExample second = out.get(1).value();
        assertThat(second.getExampleId()).isEqualTo("ticket/T-1/3");
        assertThat(second.getPrompt()).contains("<AWS_ACCESS_KEY_1>", "Agent: Hello <NAME_1>");
        assertThat(metrics.get("inputs_with_examples")).isEqualTo(1);
        assertThat(metrics.get("redactions.EMAIL")).isEqualTo(2 + 2);
        assertThat(streamsMetric("redact", "redactions-EMAIL-total")).isEqualTo(4.0);
    }

    @Test
    void aReviewBecomesOneExampleAndRoutingAndSplitAreConfigurable() {
        start("route.review.repositories", "acme/=code-review-acme", "split.eval.fraction", "1");
        send(review().setComments(new ArrayList<>(List.of(TestEvents.comment("Rename total to totalCents, and the password=hunter2hunter2 must go.")))).build());
        assertThat(training.isEmpty()).isTrue();
        TestRecord<String, TrainingExample> r = eval.readRecord();
        assertThat(r.key()).isEqualTo("code-review-acme");
        assertThat(r.value().getSplit()).isEqualTo(Split.EVAL);
        assertThat(r.value().getExampleId()).isEqualTo("review/R-1");
        assertThat(r.value().getPrompt()).startsWith("Repository: acme/payments\nFile: src/Pay.java\nLanguage: java\n\n@@");
        assertThat(r.value().getResponse()).isEqualTo("Rename total to totalCents, and the password=<PASSWORD_1> must go.");
        assertThat(metrics.get("examples.eval")).isEqualTo(1);
    }

    @Test
    void undecodableAndInvalidRecordsAreDeadLetteredWithTheirOriginalBytesAndErrorHeaders() {
        start();
        byte[] garbage = "{\"not\": \"avro\"}".getBytes(StandardCharsets.UTF_8);
        tickets.pipeInput("K-garbage", garbage);
        SupportTicket invalid = ticket().setTicketId("T-invalid").setProduct(" ").build();
        byte[] invalidBytes = bytes(config.ticketsTopic, invalid);
        tickets.pipeInput("T-invalid", invalidBytes);
        SupportTicket huge = ticket().setTicketId("T-huge").setMessages(new ArrayList<>(List.of(
                msg(AuthorRole.CUSTOMER, "a".repeat(10 * 1024 * 1024)), msg(AuthorRole.AGENT, "A reply long enough to be kept.")))).build();
        tickets.pipeInput("T-huge", bytes(config.ticketsTopic, huge));
        reviews.pipeInput("R-tombstone", (byte[]) null);
        send(ticket().setTicketId("T-good").build()); // still flowing after all that

        // TopologyTestDriver counts a deserialization failure but does not hand the dead letter built for it to its
        // output topics (its source records bypass the task's record collector); EmbeddedIngestIT checks those on a
        // real broker. Validation failures go through the processing handler and do show here.
        List<TestRecord<byte[], byte[]>> dead = dlq.readRecordsToList();
        assertThat(dead).hasSize(3);
        assertThat(metrics.get("dead_letters.deserialization")).isEqualTo(1);
        dead.add(0, null);
        assertThat(dead.get(1).value()).isEqualTo(invalidBytes);
        assertThat(header(dead.get(1), "__streams.errors.exception")).contains("InvalidEventException");
        assertThat(header(dead.get(1), "__streams.errors.message")).isEqualTo("product: blank");
        assertThat(header(dead.get(2), "__streams.errors.message")).isEqualTo("messages[0].body: 10485760 chars, over the limit of 200000");
        assertThat(header(dead.get(2), "__streams.errors.offset")).isEqualTo("2");
        assertThat(dead.get(3).value()).isNull();
        assertThat(header(dead.get(3), "__streams.errors.topic")).isEqualTo("code-reviews");
        assertThat(metrics.get("dead_letters.invalid")).isEqualTo(3);
        assertThat(allExamples()).extracting(r -> r.value().getSourceId()).containsOnly("T-good");
    }

    private static String header(TestRecord<byte[], byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    @Test
    void filterDecisionsAreCountedByReason() {
        start();
        send(ticket().setTicketId("T-open").setStatus(TicketStatus.OPEN).build());
        send(ticket().setTicketId("T-unhappy").setSatisfactionScore(1).build());
        send(ticket().setTicketId("T-de").setLanguage("de").build());
        send(ticket().setTicketId("T-bot").setAgentName("helpdesk-bot").build());
        send(ticket().setTicketId("T-short").setMessages(new ArrayList<>(List.of(msg(AuthorRole.CUSTOMER, "Is it fixed?"), msg(AuthorRole.AGENT, "yes")))).build());
        send(review().setReviewId("R-dismissed").setOutcome(io.qlorastream.events.ReviewOutcome.DISMISSED).build());
        send(review().setReviewId("R-bot").setReviewer("dependabot[bot]").build());
        assertThat(allExamples()).isEmpty();
        assertThat(metrics.snapshot()).containsEntry("filtered.not_resolved", 1L).containsEntry("filtered.low_satisfaction", 1L)
                .containsEntry("filtered.language", 1L).containsEntry("filtered.bot", 2L).containsEntry("filtered.too_short", 1L)
                .containsEntry("filtered.not_accepted", 1L);
        assertThat(metrics.inputsAccounted()).isEqualTo(7);
        // the same counts as Kafka Streams metrics, per step and reason
        assertThat(streamsMetric("filter", "filtered-bot-total")).isEqualTo(2.0);
        assertThat(streamsMetric("filter", "filtered-not_resolved-total")).isEqualTo(1.0);
        assertThat(streamsMetric("format", "filtered-too_short-total")).isEqualTo(1.0);
        assertThat(streamsMetric("validate", "records_in-code_reviews-total")).isEqualTo(2.0);
    }

    private double streamsMetric(String step, String name) {
        return driver.metrics().entrySet().stream()
                .filter(e -> e.getKey().group().equals("stream-" + StepCounters.SCOPE + "-metrics") && e.getKey().name().equals(name)
                        && step.equals(e.getKey().tags().get(StepCounters.SCOPE + "-id")))
                .mapToDouble(e -> ((Number) e.getValue().metricValue()).doubleValue()).sum();
    }

    @Test
    void duplicatesWithinTheWindowAreDroppedAndCountedAndTheWindowExpires() {
        start("dedupe.window.minutes", "60");
        Instant t0 = Instant.ofEpochMilli(1_767_225_600_000L);
        tickets.pipeInput("T-a", bytes(config.ticketsTopic, ticket().setTicketId("T-a").build()), t0);
        tickets.pipeInput("T-b", bytes(config.ticketsTopic, ticket().setTicketId("T-b").setSubject("WRONG  invoice amount").build()), t0.plusSeconds(1800));
        // other content, to move stream time past the window
        tickets.pipeInput("T-c", bytes(config.ticketsTopic, ticket().setTicketId("T-c").setSubject("Other").build()), t0.plusSeconds(3 * 3600));
        tickets.pipeInput("T-d", bytes(config.ticketsTopic, ticket().setTicketId("T-d").build()), t0.plusSeconds(3 * 3600 + 60));
        assertThat(allExamples()).extracting(r -> r.value().getSourceId()).containsExactly("T-a", "T-c", "T-d");
        assertThat(metrics.get("filtered.duplicate")).isEqualTo(1);
    }

    @Test
    void everySampleIsAccountedForAndNoPlantedValueLeaks() {
        start();
        List<SampleGenerator.Sample> samples = new SampleGenerator(7).generate(300, 200);
        for (SampleGenerator.Sample s : samples) {
            TestInputTopic<String, byte[]> in = s.isTicketTopic() ? tickets : reviews;
            String topic = s.isTicketTopic() ? config.ticketsTopic : config.reviewsTopic;
            in.pipeInput(s.key(), s.event() != null ? bytes(topic, s.event()) : s.raw());
        }
        List<TestRecord<String, TrainingExample>> out = allExamples();
        long dead = dlq.readRecordsToList().size();
        long inputsWithExamples = out.stream().map(r -> r.value().getSourceKind() + "/" + r.value().getSourceId()).distinct().count();
        assertThat(metrics.get("inputs_with_examples")).isEqualTo(inputsWithExamples);
        // deserialization dead letters are counted but not shown by TopologyTestDriver (see above)
        assertThat(metrics.get("dead_letters.invalid") + metrics.get("dead_letters.processing")).isEqualTo(dead).isPositive();
        assertThat(metrics.get("dead_letters.deserialization")).isPositive();
        assertThat(metrics.sum("filtered.")).isPositive();
        assertThat(metrics.get("filtered.duplicate")).isPositive();
        assertThat(metrics.inputsAccounted()).isEqualTo(samples.size());
        assertThat(metrics.get("records_in.support_tickets") + metrics.get("records_in.code_reviews") + metrics.get("dead_letters.deserialization"))
                .isEqualTo(samples.size());
        List<String> planted = samples.stream().flatMap(s -> s.planted().stream()).distinct().toList();
        assertThat(planted).hasSizeGreaterThan(200);
        for (TestRecord<String, TrainingExample> r : out) {
            String text = r.value().getPrompt() + "\n" + r.value().getResponse();
            for (String p : planted) {
                assertThat(text).as("planted value leaked in %s", r.value().getExampleId()).doesNotContain(p);
            }
            assertThat(r.key()).isEqualTo(r.value().getAdapterName());
        }
        Map<String, Long> byKind = out.stream().collect(Collectors.groupingBy(r -> r.key(), Collectors.counting()));
        assertThat(byKind).containsOnlyKeys("support", "code-review");
        assertThat(out.stream().map(r -> r.value().getExampleId()).distinct().count()).isEqualTo(out.size());
        assertThat(StreamSupport.stream(metrics.snapshot().keySet().spliterator(), false).filter(k -> k.startsWith("redactions.")).count())
                .isGreaterThanOrEqualTo(15);
    }
}
