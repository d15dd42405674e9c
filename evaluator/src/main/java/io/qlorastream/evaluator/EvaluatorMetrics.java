package io.qlorastream.evaluator;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.EvaluationCheck;
import io.qlorastream.schemas.service.ServiceMeters;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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
    private final ServiceMeters meters = new ServiceMeters();

    void bindClients(Consumer<?, ?> consumer, Producer<?, ?> producer) {
        meters.bindClients(consumer, producer);
    }

    void recorded(AdapterEvaluation e, long evaluationNanos) {
        String adapter = e.getAdapterName();
        meters.count(Counter.builder("qlora.evaluator.evaluations").tag("adapter", adapter).tag("verdict", e.getPassed() ? "pass" : "fail")
                .description("Snapshots judged, by verdict"));
        meters.keep(Timer.builder("qlora.evaluator.evaluation.duration").tag("adapter", adapter)
                .description("Time to fetch, score and judge one snapshot").register(meters.registry()))
                .record(evaluationNanos, TimeUnit.NANOSECONDS);
        for (Map.Entry<String, Double> m : e.getMetrics().entrySet()) {
            meters.set("qlora.evaluator.metric", Tags.of("adapter", adapter, "metric", m.getKey()), m.getValue(),
                    "A metric of the adapter's latest evaluation (NLL per target token, leaks...)");
        }
        for (EvaluationCheck check : e.getChecks()) {
            Tags tags = Tags.of("adapter", adapter, "check", check.getName());
            meters.set("qlora.evaluator.check.value", tags, check.getValue(), "The measured value of a gate check in the adapter's latest evaluation");
            meters.set("qlora.evaluator.check.threshold", tags, check.getThreshold(), "The threshold of a gate check in the adapter's latest evaluation");
            meters.set("qlora.evaluator.check.passed", tags, check.getPassed() ? 1 : 0, "1 when the gate check passed in the adapter's latest evaluation");
        }
    }

    @Override
    public void close() {
        meters.close();
    }
}
