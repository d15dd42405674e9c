package io.qlorastream.ingest;

import org.apache.kafka.common.metrics.Sensor;
import org.apache.kafka.streams.StreamsMetrics;

import java.util.HashMap;
import java.util.Map;

/**
 * What one processor counts, in both places: {@link IngestMetrics} (our JMX bean, exact totals for the app) and
 * Kafka Streams' own metrics, as rate/total sensors in group {@code stream-qlora-ingest-metrics} (entity = the
 * step, operation = the counter with dots as dashes, e.g. {@code filtered-not_resolved-total}), so they appear
 * beside Kafka Streams' per-node metrics in JMX and in {@code KafkaStreams.metrics()}.
 */
final class StepCounters {
    static final String SCOPE = "qlora-ingest";

    private final IngestMetrics metrics;
    private final StreamsMetrics streamsMetrics;
    private final String step;
    private final Map<String, Sensor> sensors = new HashMap<>();

    StepCounters(IngestMetrics metrics, StreamsMetrics streamsMetrics, String step) {
        this.metrics = metrics;
        this.streamsMetrics = streamsMetrics;
        this.step = step;
    }

    void add(String counter, long n) {
        metrics.add(counter, n);
        Sensor s = sensors.computeIfAbsent(counter, c -> streamsMetrics.addRateTotalSensor(SCOPE, step, c.replace('.', '-'), Sensor.RecordingLevel.INFO));
        for (long i = 0; i < n; i++) {
            s.record();
        }
    }

    void increment(String counter) {
        add(counter, 1);
    }
}
