package io.qlorastream.ingest;

import org.apache.kafka.common.metrics.Sensor;
import org.apache.kafka.streams.StreamsMetrics;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

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
    // each counter's two ends, looked up once per name: a processor counts on every record
    private final Map<String, Counter> counters = new HashMap<>();

    private record Counter(LongAdder total, Sensor sensor) {
    }

    StepCounters(IngestMetrics metrics, StreamsMetrics streamsMetrics, String step) {
        this.metrics = metrics;
        this.streamsMetrics = streamsMetrics;
        this.step = step;
    }

    void add(String counter, long n) {
        Counter c = counters.get(counter);
        if (c == null) {
            c = new Counter(metrics.counter(counter),
                    streamsMetrics.addRateTotalSensor(SCOPE, step, counter.replace('.', '-'), Sensor.RecordingLevel.INFO));
            counters.put(counter, c);
        }
        c.total.add(n);
        for (long i = 0; i < n; i++) {
            c.sensor.record(); // the sensor counts calls (a rate and total of occurrences), so one call per unit
        }
    }

    void increment(String counter) {
        add(counter, 1);
    }
}
