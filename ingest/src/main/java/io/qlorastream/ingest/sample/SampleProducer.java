package io.qlorastream.ingest.sample;

import io.qlorastream.events.CodeReview;
import io.qlorastream.events.SupportTicket;
import io.qlorastream.ingest.IngestConfig;
import io.qlorastream.ingest.IngestTopics;
import io.qlorastream.schemas.serde.AvroSerializer;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;


/** Writes samples to the input topics (creating missing topics first), at an optional rate. */
public final class SampleProducer {
    private SampleProducer() {
    }

    /** Produces every sample; {@code ratePerSecond} ≤ 0 means as fast as possible. Returns the count written. */
    public static int produce(Properties client, IngestConfig c, List<SampleGenerator.Sample> samples, double ratePerSecond) {
        return produce(client, c, samples, ratePerSecond, () -> false, n -> { });
    }

    /**
     * As {@link #produce(Properties, IngestConfig, List, double)}, for a feed inside a longer run (the demo): stops
     * early, without an exception, once {@code stop} says so (checked before each record), and reports the running
     * count of records sent to {@code onSent}. Every record counted is flushed to the broker before this returns.
     */
    public static int produce(Properties client, IngestConfig c, List<SampleGenerator.Sample> samples, double ratePerSecond,
                              java.util.function.BooleanSupplier stop, java.util.function.IntConsumer onSent) {
        IngestTopics.createMissing(client, c, true);
        Properties p = new Properties();
        p.putAll(client);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        // One request in flight per broker: on a freshly created topic a first batch can fail with a retriable
        // error while the next one lands; the first one's retry then fails OutOfOrderSequence forever (KAFKA-14359).
        // Seen on a busy machine with the embedded broker; samples need no pipelining.
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1");
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(256 * 1024));
        Map<String, Object> serdeConfig = new HashMap<>(c.serdeConfig);
        for (String k : client.stringPropertyNames()) {
            if (k.startsWith("schema.registry.") || k.startsWith("basic.auth.")) {
                serdeConfig.put(k, client.getProperty(k));
            }
        }
        AvroSerializer<SpecificRecord> avro = new AvroSerializer<>();
        avro.configure(serdeConfig, false);
        long start = System.nanoTime();
        int written = 0;
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
            for (SampleGenerator.Sample s : samples) {
                if (stop.getAsBoolean()) {
                    break;
                }
                String topic = s.isTicketTopic() ? c.ticketsTopic : c.reviewsTopic;
                if (s.event() instanceof SupportTicket || s.event() instanceof CodeReview) {
                    topic = s.event() instanceof SupportTicket ? c.ticketsTopic : c.reviewsTopic;
                }
                byte[] value = s.event() != null ? avro.serialize(topic, s.event()) : s.raw();
                producer.send(new ProducerRecord<>(topic, s.key(), value));
                written++;
                onSent.accept(written);
                if (ratePerSecond > 0) {
                    long due = start + (long) (written * 1e9 / ratePerSecond);
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    }
                }
            }
            producer.flush();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted after " + written + " samples", e);
        }
        return written;
    }

}
