package io.qlorastream.evaluator;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.EvaluationCheck;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;

/**
 * The evaluator's metrics on Micrometer's global registry (served to Prometheus by {@code --metrics-port}):
 * {@code qlora_evaluator_evaluations_total{adapter,verdict}}, the duration of each evaluation, and per adapter the
 * latest verdict's gate metrics ({@code qlora_evaluator_metric{adapter,metric}}: candidate_nll, base_nll, ...) and
 * checks ({@code qlora_evaluator_check_value} and {@code _threshold} and {@code _passed}, by {@code check}). Only
 * committed verdicts are counted.
 */
final class EvaluatorMetrics implements AutoCloseable {
    private final MeterRegistry registry = Metrics.globalRegistry;
    private final List<Meter> meters = new CopyOnWriteArrayList<>();
    private final List<KafkaClientMetrics> clients = new CopyOnWriteArrayList<>();
    /** Latest value of each gauge, by its name and tags; gauges read through these holders. */
    private final Map<List<Object>, AtomicReference<Double>> latest = new ConcurrentHashMap<>();

    void bindClients(Consumer<?, ?> consumer, Producer<?, ?> producer) {
        for (KafkaClientMetrics m : List.of(new KafkaClientMetrics(consumer), new KafkaClientMetrics(producer))) {
            m.bindTo(registry);
            clients.add(m);
        }
    }

    void recorded(AdapterEvaluation e, long evaluationNanos) {
        String adapter = e.getAdapterName();
        Counter c = Counter.builder("qlora.evaluator.evaluations").tag("adapter", adapter).tag("verdict", e.getPassed() ? "pass" : "fail")
                .description("Snapshots judged, by verdict").register(registry);
        remember(c);
        c.increment();
        Timer t = Timer.builder("qlora.evaluator.evaluation.duration").tag("adapter", adapter)
                .description("Time to fetch, score and judge one snapshot").register(registry);
        remember(t);
        t.record(evaluationNanos, TimeUnit.NANOSECONDS);
        for (Map.Entry<String, Double> m : e.getMetrics().entrySet()) {
            set("qlora.evaluator.metric", Tags.of("adapter", adapter, "metric", m.getKey()), m.getValue(),
                    "A metric of the adapter's latest evaluation (NLL per target token, leaks...)");
        }
        for (EvaluationCheck check : e.getChecks()) {
            Tags tags = Tags.of("adapter", adapter, "check", check.getName());
            set("qlora.evaluator.check.value", tags, check.getValue(), "The measured value of a gate check in the adapter's latest evaluation");
            set("qlora.evaluator.check.threshold", tags, check.getThreshold(), "The threshold of a gate check in the adapter's latest evaluation");
            set("qlora.evaluator.check.passed", tags, check.getPassed() ? 1 : 0, "1 when the gate check passed in the adapter's latest evaluation");
        }
    }

    private void set(String name, Tags tags, double value, String description) {
        AtomicReference<Double> holder = latest.computeIfAbsent(List.of(name, tags), k -> {
            AtomicReference<Double> h = new AtomicReference<>(Double.NaN);
            remember(Gauge.builder(name, h, AtomicReference::get).tags(tags).description(description).strongReference(true).register(registry));
            return h;
        });
        holder.set(value);
    }

    private void remember(Meter m) {
        if (!meters.contains(m)) {
            meters.add(m);
        }
    }

    @Override
    public void close() {
        clients.forEach(KafkaClientMetrics::close);
        meters.forEach(registry::remove);
    }
}
