package io.qlorastream.ingest;

import io.qlorastream.events.CodeReview;
import io.qlorastream.events.SourceCoordinates;
import io.qlorastream.events.Split;
import io.qlorastream.events.SupportTicket;
import io.qlorastream.events.TrainingExample;
import io.qlorastream.redact.RedactionType;
import io.qlorastream.redact.Redactor;
import io.qlorastream.schemas.serde.SpecificAvroSerde;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * The ingest topology, as small named steps (each a node in {@code describe()} and in Kafka Streams' per-node
 * metrics):
 * <pre>
 * read-support-tickets → validate-support-tickets ─┐
 * read-code-reviews    → validate-code-reviews    ─┴→ merge → filter → key-by-content-hash → (repartition)
 *   → dedupe (window store, entries expire after the window) → format (+ per-example length filter)
 *   → redact → route (key = adapter) → assign-split → write-training-examples | write-eval-examples
 * </pre>
 * Records that cannot be decoded, fail validation or fail a later step go to the dead-letter topic through
 * {@link DeadLetters} (configured by {@link #streamsProperties}). Every input ends as example(s), a counted filter
 * decision or a dead letter; {@link IngestMetrics} counts each outcome.
 */
public final class IngestTopology {
    public static final String DEDUPE_STORE = "dedupe-content-hashes";
    // counter names, built once rather than per record
    private static final Map<FilterReason, String> FILTERED_COUNTERS = counterNames(FilterReason.class, "filtered.", true);
    private static final Map<FilterReason, String> EXAMPLES_FILTERED_COUNTERS =
            counterNames(FilterReason.class, "examples_filtered.", true);
    private static final Map<RedactionType, String> REDACTION_COUNTERS = counterNames(RedactionType.class, "redactions.", false);
    private static final Map<Split, String> SPLIT_COUNTERS = counterNames(Split.class, "examples.", true);

    private IngestTopology() {
    }

    /** Kafka Streams settings for ingest over {@code base} (client settings: bootstrap servers, security...). */
    public static Properties streamsProperties(IngestConfig c, Properties base) {
        Properties p = new Properties();
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.putAll(base); // an explicit processing.guarantee in the file wins over our default
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, c.applicationId);
        p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class.getName());
        p.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetters.Deserialization.class.getName());
        p.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetters.Processing.class.getName());
        p.put(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, c.dlqTopic);
        // A dead letter carries the original value: let one as large as the DLQ topic allows through.
        p.putIfAbsent(StreamsConfig.producerPrefix("max.request.size"), String.valueOf(IngestTopics.MAX_MESSAGE_BYTES));
        // The repartition topic carries whole valid events (up to max.messages x max.field.chars), which can exceed
        // a broker's 1 MB default: Kafka Streams creates its internal topics with this limit.
        p.putIfAbsent(StreamsConfig.topicPrefix("max.message.bytes"), String.valueOf(IngestTopics.MAX_MESSAGE_BYTES));
        // Restoring a changelog ends when the restore consumer's position reaches the end offset, which it learns
        // from a fetch; on an empty or caught-up changelog that fetch waits out fetch.max.wait.ms (500 ms by default)
        // at the broker, once for each batch of tasks the state updater takes on. Dedupe's tasks are the only
        // stateful ones, and the first half of the topology runs ahead of them meanwhile, so every start and
        // rebalance began with a 1-1.5 s stall of the dedupe half (measured on the embedded broker).
        p.putIfAbsent(StreamsConfig.restoreConsumerPrefix("fetch.max.wait.ms"), "100");
        // Each event costs its stream thread tens of microseconds (decoding twice, hashing, redaction, Kafka Streams'
        // own work), and one thread is the bottleneck well before the broker is: a thread per core, up to
        // MAX_DEFAULT_STREAM_THREADS (tasks beyond the threads just share them).
        p.putIfAbsent(StreamsConfig.NUM_STREAM_THREADS_CONFIG, String.valueOf(defaultStreamThreads()));
        // With several threads, a rebalance waits for every thread's consumer to rejoin, and a thread learns of it
        // at its next heartbeat (3 s by default), processing nothing meanwhile: on a new application's first start
        // the repartition topic's creation triggers such a second rebalance. 500 ms bounds that wait.
        p.putIfAbsent(StreamsConfig.mainConsumerPrefix("heartbeat.interval.ms"), "500");
        // Batches of up to 128 KB rather than 16 KB: an exactly-once commit flushes every 100 ms anyway, and fewer,
        // larger produce requests cost the producer's network thread and the broker less per record.
        p.putIfAbsent(StreamsConfig.producerPrefix("batch.size"), String.valueOf(128 * 1024));
        p.putAll(c.serdeConfig);
        return p;
    }

    /** Stream threads when the settings name none: one per available core, at most this many. */
    public static final int MAX_DEFAULT_STREAM_THREADS = 4;

    static int defaultStreamThreads() {
        return Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(), MAX_DEFAULT_STREAM_THREADS));
    }

    public static Topology build(IngestConfig c) {
        IngestMetrics metrics = IngestMetrics.of(c.applicationId);
        Serde<SupportTicket> ticketSerde = avro(c);
        Serde<CodeReview> reviewSerde = avro(c);
        Serde<TrainingExample> exampleSerde = avro(c);
        Redactor redactor = new Redactor();

        StreamsBuilder b = new StreamsBuilder();
        KStream<String, SourceEvent> tickets = b.stream(c.ticketsTopic, Consumed.with(Serdes.String(), keepingWire(ticketSerde)).withName("read-support-tickets"))
                .processValues(() -> new Validate<>(c, metrics, "support_tickets", TicketSource::new), Named.as("validate-support-tickets"));
        KStream<String, SourceEvent> reviews = b.stream(c.reviewsTopic, Consumed.with(Serdes.String(), keepingWire(reviewSerde)).withName("read-code-reviews"))
                .processValues(() -> new Validate<>(c, metrics, "code_reviews", ReviewSource::new), Named.as("validate-code-reviews"));

        KStream<String, SourceEvent> kept = tickets.merge(reviews, Named.as("merge"))
                .processValues(() -> new Filter(c, metrics), Named.as("filter"));
        if (c.dedupe) {
            b.addStateStore(Stores.windowStoreBuilder(
                    Stores.persistentWindowStore(DEDUPE_STORE, c.dedupeWindow, c.dedupeWindow, false),
                    Serdes.String(), Serdes.Long()));
            KStream<String, SourceEvent> byHash = kept.selectKey((k, v) -> v.contentHash(), Named.as("key-by-content-hash"));
            if (c.dedupeRepartition) {
                byHash = byHash.repartition(Repartitioned.with(Serdes.String(),
                        new SourceEventSerde(ticketSerde.deserializer(), reviewSerde.deserializer())).withName("by-content-hash"));
            }
            kept = byHash.processValues(() -> new Dedupe(c, metrics), Named.as("dedupe"), DEDUPE_STORE);
        }
        KStream<String, TrainingExample> examples = kept
                .processValues(() -> new Format(c, metrics), Named.as("format"))
                .processValues(() -> new Redact(redactor, metrics), Named.as("redact"))
                .selectKey((k, v) -> v.event().adapter(c), Named.as("route"))
                .processValues(() -> new AssignSplit(c, metrics), Named.as("assign-split"));
        examples.split(Named.as("split-"))
                .branch((k, v) -> v.getSplit() == Split.EVAL, Branched.withConsumer(
                        s -> s.to(c.evalTopic, Produced.with(Serdes.String(), exampleSerde).withName("write-eval-examples")), "eval"))
                .defaultBranch(Branched.withConsumer(
                        s -> s.to(c.trainingTopic, Produced.with(Serdes.String(), exampleSerde).withName("write-training-examples")), "train"));
        return b.build();
    }

    private static <E extends Enum<E>> Map<E, String> counterNames(Class<E> type, String prefix, boolean lowerCase) {
        Map<E, String> names = new java.util.EnumMap<>(type);
        for (E e : type.getEnumConstants()) {
            names.put(e, prefix + (lowerCase ? e.name().toLowerCase(java.util.Locale.ROOT) : e.name()));
        }
        return names;
    }

    /** A source's serde: the value decoded by {@code serde}, with the bytes it came from (see {@link SourceEvent}). */
    private static <T> Serde<Decoded<T>> keepingWire(Serde<T> serde) {
        Deserializer<T> decoder = serde.deserializer();
        return Serdes.serdeFrom((topic, d) -> d == null ? null : d.wire(),
                (topic, bytes) -> bytes == null ? null : new Decoded<>(decoder.deserialize(topic, bytes), bytes));
    }

    private static <T extends SpecificRecord> Serde<T> avro(IngestConfig c) {
        SpecificAvroSerde<T> serde = new SpecificAvroSerde<>();
        serde.configure(c.serdeConfig, false);
        return serde;
    }

    // ------------------------------------------------------------------ steps

    /** Makes the {@link SourceEvent} of one source's decoded events: that kind's record constructor. */
    @FunctionalInterface
    interface SourceOf<T> {
        SourceEvent of(T event, SourceCoordinates source, byte[] wire);
    }

    /** Checks an event; a bad one becomes an {@link InvalidEventException}, which the handler dead-letters. */
    static final class Validate<T extends SpecificRecord> implements FixedKeyProcessor<String, Decoded<T>, SourceEvent> {
        private final IngestConfig c;
        private final IngestMetrics metrics;
        private final String recordsIn;
        private final SourceOf<T> sourceOf;
        private FixedKeyProcessorContext<String, SourceEvent> context;

        Validate(IngestConfig c, IngestMetrics metrics, String source, SourceOf<T> sourceOf) {
            this.c = c;
            this.metrics = metrics;
            this.recordsIn = "records_in." + source;
            this.sourceOf = sourceOf;
        }

        private StepCounters counters;

        @Override
        public void init(FixedKeyProcessorContext<String, SourceEvent> context) {
            this.context = context;
            this.counters = new StepCounters(metrics, context.metrics(), "validate");
        }

        @Override
        public void process(FixedKeyRecord<String, Decoded<T>> record) {
            counters.increment(recordsIn);
            T event = record.value() == null ? null : record.value().value();
            if (event == null) {
                throw new InvalidEventException("value: missing (a tombstone is not an event)");
            }
            Optional<RecordMetadata> m = context.recordMetadata();
            SourceCoordinates where = new SourceCoordinates(m.map(RecordMetadata::topic).orElse(""),
                    m.map(RecordMetadata::partition).orElse(-1), m.map(RecordMetadata::offset).orElse(-1L));
            SourceEvent source = sourceOf.of(event, where, record.value().wire());
            Optional<String> problem = source.problem(c);
            if (problem.isPresent()) {
                throw new InvalidEventException(problem.get());
            }
            context.forward(record.withValue(source));
        }
    }

    static final class Filter implements FixedKeyProcessor<String, SourceEvent, SourceEvent> {
        private final IngestConfig c;
        private final IngestMetrics metrics;
        private FixedKeyProcessorContext<String, SourceEvent> context;

        Filter(IngestConfig c, IngestMetrics metrics) {
            this.c = c;
            this.metrics = metrics;
        }

        private StepCounters counters;

        @Override
        public void init(FixedKeyProcessorContext<String, SourceEvent> context) {
            this.context = context;
            this.counters = new StepCounters(metrics, context.metrics(), "filter");
        }

        @Override
        public void process(FixedKeyRecord<String, SourceEvent> record) {
            Optional<FilterReason> reason = record.value().filterReason(c);
            if (reason.isPresent()) {
                counters.increment(FILTERED_COUNTERS.get(reason.get()));
            } else {
                context.forward(record);
            }
        }
    }

    /**
     * Drops content already seen within the window (by record timestamp, either side), keyed by content hash. A
     * window store, so entries older than the window expire segment by segment and memory stays bounded by the
     * window; it is changelogged, so dedupe survives restarts and rebalances.
     */
    static final class Dedupe implements FixedKeyProcessor<String, SourceEvent, SourceEvent> {
        private final long windowMs;
        private final IngestMetrics metrics;
        private FixedKeyProcessorContext<String, SourceEvent> context;
        private WindowStore<String, Long> seen;

        Dedupe(IngestConfig c, IngestMetrics metrics) {
            this.windowMs = c.dedupeWindow.toMillis();
            this.metrics = metrics;
        }

        @Override
        public void init(FixedKeyProcessorContext<String, SourceEvent> context) {
            this.context = context;
            this.seen = context.getStateStore(DEDUPE_STORE);
            this.counters = new StepCounters(metrics, context.metrics(), "dedupe");
        }

        private StepCounters counters;

        @Override
        public void process(FixedKeyRecord<String, SourceEvent> record) {
            String hash = record.key();
            long ts = record.timestamp();
            boolean duplicate;
            // WindowStore's long-bounds fetch: the Instant overload formats an error-message prefix on every call
            try (WindowStoreIterator<Long> it = seen.fetch(hash, Math.max(0, ts - windowMs), ts + windowMs)) {
                duplicate = it.hasNext();
            }
            if (duplicate) {
                counters.increment(FILTERED_COUNTERS.get(FilterReason.DUPLICATE));
                return;
            }
            seen.put(hash, ts, ts);
            context.forward(record);
        }
    }

    /** Drafts the examples of one event and drops those whose response is too short or too long. */
    static final class Format implements FixedKeyProcessor<String, SourceEvent, PendingExample> {
        private final IngestConfig c;
        private final IngestMetrics metrics;
        private FixedKeyProcessorContext<String, PendingExample> context;

        Format(IngestConfig c, IngestMetrics metrics) {
            this.c = c;
            this.metrics = metrics;
        }

        private StepCounters counters;

        @Override
        public void init(FixedKeyProcessorContext<String, PendingExample> context) {
            this.context = context;
            this.counters = new StepCounters(metrics, context.metrics(), "format");
        }

        @Override
        public void process(FixedKeyRecord<String, SourceEvent> record) {
            SourceEvent event = record.value();
            List<ExampleDraft> drafts = event.drafts(c);
            List<ExampleDraft> kept = new ArrayList<>(drafts.size());
            List<FilterReason> dropped = new ArrayList<>();
            for (ExampleDraft d : drafts) {
                Optional<FilterReason> reason = Filters.responseLength(d.response(), c);
                if (reason.isPresent()) {
                    dropped.add(reason.get());
                } else {
                    kept.add(d);
                }
            }
            if (kept.isEmpty()) {
                // the whole input is filtered, under the reason of its first example (NO_RESPONSE if it had none)
                counters.increment(FILTERED_COUNTERS.get(dropped.isEmpty() ? FilterReason.NO_RESPONSE : dropped.get(0)));
                return;
            }
            counters.increment("inputs_with_examples");
            dropped.forEach(r -> counters.increment(EXAMPLES_FILTERED_COUNTERS.get(r)));
            for (ExampleDraft d : kept) {
                context.forward(record.withValue(new PendingExample(event, d, Map.of())));
            }
        }
    }

    /** Redacts each example as a whole, with the values its event's own fields identify; counts by type. */
    static final class Redact implements FixedKeyProcessor<String, PendingExample, PendingExample> {
        private final ExampleRedaction redaction;
        private final IngestMetrics metrics;
        private FixedKeyProcessorContext<String, PendingExample> context;
        private StepCounters counters;

        Redact(Redactor redactor, IngestMetrics metrics) {
            this.redaction = new ExampleRedaction(redactor);
            this.metrics = metrics;
        }

        @Override
        public void init(FixedKeyProcessorContext<String, PendingExample> context) {
            this.context = context;
            this.counters = new StepCounters(metrics, context.metrics(), "redact");
        }

        @Override
        public void process(FixedKeyRecord<String, PendingExample> record) {
            PendingExample p = record.value();
            ExampleRedaction.Redacted r = redaction.redact(p.draft().prompt(), p.draft().response(), p.event().knownValues());
            r.counts().forEach((type, n) -> counters.add(REDACTION_COUNTERS.get(type), n));
            ExampleDraft d = p.draft();
            context.forward(record.withValue(new PendingExample(p.event(),
                    new ExampleDraft(d.exampleId(), d.sourceKind(), d.sourceId(), r.prompt(), r.response()), r.counts())));
        }
    }

    static final class AssignSplit implements FixedKeyProcessor<String, PendingExample, TrainingExample> {
        private final IngestConfig c;
        private final IngestMetrics metrics;
        private FixedKeyProcessorContext<String, TrainingExample> context;
        private StepCounters counters;

        AssignSplit(IngestConfig c, IngestMetrics metrics) {
            this.c = c;
            this.metrics = metrics;
        }

        @Override
        public void init(FixedKeyProcessorContext<String, TrainingExample> context) {
            this.context = context;
            this.counters = new StepCounters(metrics, context.metrics(), "split");
        }

        @Override
        public void process(FixedKeyRecord<String, PendingExample> record) {
            TrainingExample e = toExample(record.key(), record.value(), c);
            counters.increment(SPLIT_COUNTERS.get(e.getSplit()));
            context.forward(record.withValue(e));
        }
    }

    static TrainingExample toExample(String adapter, PendingExample p, IngestConfig c) {
        Split split = Splitter.split(p.draft().exampleId(), c.evalFraction);
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (Map.Entry<RedactionType, Integer> e : p.counts().entrySet()) {
            counts.put(e.getKey().name(), e.getValue());
        }
        return TrainingExample.newBuilder()
                .setExampleId(p.draft().exampleId())
                .setAdapterName(adapter)
                .setSourceKind(p.draft().sourceKind())
                .setSourceId(p.draft().sourceId())
                .setSource(p.event().source())
                .setPrompt(p.draft().prompt())
                .setResponse(p.draft().response())
                .setRedactions(counts)
                .setSplit(split)
                .setCreatedAt(Instant.now())
                .build();
    }
}
