package io.qlorastream.app.dashboard;

import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.schemas.kafka.Consumers;
import io.qlorastream.schemas.kafka.TopicReader;
import io.qlorastream.schemas.OneLine;
import io.qlorastream.schemas.registry.RegistryException;
import io.qlorastream.schemas.serde.AvroDeserializer;
import io.qlorastream.schemas.serde.AvroSerdeConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * The dashboard's background reader of the four topics, through the shared {@link TopicReader}: every partition read
 * from the beginning, no consumer group (a dashboard commits nothing and must not share partitions with another),
 * committed records only (the publisher and trainer write in transactions). Topics that do not exist yet are looked
 * for again every few seconds, so a dashboard started before the pipeline picks them up. Values are decoded here, one
 * by one, with the project's Avro serde: an undecodable record is counted and skipped, never fatal; an unreachable
 * registry is retried at the same offset. A broker that cannot be reached is reported to the page, and retried.
 */
final class DashboardFeed implements Runnable {
    private final Properties client;
    /** How long a metadata request may wait for the broker: the client's default.api.timeout.ms (10 s unless set). */
    private final Duration metadataTimeout;
    private final DashboardConfig config;
    private final DashboardState state;
    private final Map<TopicPartition, Long> positions = new HashMap<>();
    private volatile boolean closed;
    private volatile TopicReader<byte[]> reader;

    DashboardFeed(Properties kafkaClient, DashboardConfig config, DashboardState state) {
        this.client = consumerProperties(kafkaClient);
        this.metadataTimeout = Duration.ofMillis(Long.parseLong(client.getProperty(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG).strip()));
        this.config = config;
        this.state = state;
    }

    static Properties consumerProperties(Properties base) {
        Properties p = Consumers.readCommitted(base, null);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        // a reader must never create a pipeline topic with the broker's defaults
        p.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
        p.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "qlora-dashboard");
        p.putIfAbsent(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
        return p;
    }

    @Override
    public void run() {
        AvroDeserializer<Object> avro = new AvroDeserializer<>();
        Map<String, Object> serde = new HashMap<>();
        client.stringPropertyNames().forEach(k -> serde.put(k, client.getProperty(k)));
        serde.put(AvroSerdeConfig.SPECIFIC_AVRO_READER, true);
        avro.configure(serde, false);
        while (!closed) {
            // a new reader after a failure goes on where the last one's records were folded
            try (TopicReader<byte[]> r = TopicReader.<byte[]>of(client, config.topicsByRole().values()).resumeAt(positions)) {
                reader = r;
                if (closed) {
                    break;
                }
                readLoop(r, avro);
            } catch (WakeupException e) {
                break;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (RuntimeException e) {
                if (closed) {
                    break;
                }
                state.kafkaError("cannot read from Kafka at " + client.getProperty("bootstrap.servers") + ": " + OneLine.of(e));
                sleep(2000);
            } finally {
                reader = null;
            }
        }
    }

    private void readLoop(TopicReader<byte[]> r, AvroDeserializer<Object> avro) throws InterruptedException {
        long nextLookup = 0;
        while (!closed) {
            if (System.nanoTime() >= nextLookup) {
                Set<String> all;
                try {
                    all = r.lookUp(metadataTimeout);
                } catch (org.apache.kafka.common.errors.TimeoutException e) {
                    state.kafkaError("Kafka unreachable at " + client.getProperty("bootstrap.servers") + " (no answer within "
                            + metadataTimeout.toMillis() + " ms); retrying");
                    continue;
                }
                state.kafkaOk(all);
                nextLookup = System.nanoTime() + Duration.ofSeconds(r.allFound() ? 30 : 3).toNanos();
            }
            if (r.isEmpty()) {
                Thread.sleep(500);
                continue;
            }
            Set<TopicPartition> paused = new HashSet<>();
            for (ConsumerRecord<String, byte[]> rec : r.poll(Duration.ofMillis(500))) {
                TopicPartition tp = new TopicPartition(rec.topic(), rec.partition());
                if (paused.contains(tp)) {
                    continue;
                }
                if (!apply(rec, avro)) {
                    // the registry could not be reached: read this record again after a pause
                    r.seek(tp, rec.offset());
                    paused.add(tp);
                    continue;
                }
                positions.put(tp, rec.offset() + 1);
            }
            if (!paused.isEmpty()) {
                Thread.sleep(2000);
            }
        }
    }

    /** Folds one record into the state; false when it must be read again (the registry was unreachable). */
    private boolean apply(ConsumerRecord<String, byte[]> r, AvroDeserializer<Object> avro) {
        String topic = r.topic();
        Object value;
        try {
            value = avro.deserialize(r);
        } catch (RuntimeException e) {
            if (registryUnreachable(e)) {
                state.kafkaError("schema registry unreachable: " + OneLine.of(e) + "; retrying");
                return false;
            }
            state.skipped(topic, "undecodable record at " + topic + "/" + r.partition() + "@" + r.offset() + ": " + OneLine.of(e));
            return true;
        }
        Map<String, String> roles = config.topicsByRole();
        if (topic.equals(roles.get("releases")) && value == null) {
            state.currentRelease(topic, r.key(), null);
        } else if (topic.equals(roles.get("snapshots")) && value instanceof AdapterSnapshot s) {
            state.snapshot(topic, s);
        } else if (topic.equals(roles.get("evaluations")) && value instanceof AdapterEvaluation e) {
            state.evaluation(topic, e);
        } else if (topic.equals(roles.get("releases")) && value instanceof AdapterRelease rel) {
            state.currentRelease(topic, r.key(), rel);
        } else if (topic.equals(roles.get("releaseLog")) && value instanceof AdapterRelease rel) {
            state.releaseLogged(topic, rel);
        } else {
            state.skipped(topic, "record at " + topic + "/" + r.partition() + "@" + r.offset() + " is "
                    + (value == null ? "empty" : value.getClass().getSimpleName()) + ", not this topic's event type");
        }
        return true;
    }

    private static boolean registryUnreachable(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof RegistryException re && (re.status() == -1 || re.status() >= 500)) {
                return true;
            }
        }
        return false;
    }

    private void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closed = true;
        }
    }

    void close() {
        closed = true;
        TopicReader<byte[]> r = reader;
        if (r != null) {
            r.wakeup();
        }
    }
}
