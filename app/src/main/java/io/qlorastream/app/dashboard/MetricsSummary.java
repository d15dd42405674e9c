package io.qlorastream.app.dashboard;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Map;
import java.util.TreeMap;

/**
 * The page's view of the services' series: the ingest flow broken down by label, summed over every source (ingest
 * replicas each report their own share), the trainer per adapter, evaluations by verdict, releases by kind, and
 * each subscriber's current version. Series are matched by their Prometheus names (README, "Metrics").
 */
final class MetricsSummary {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private MetricsSummary() {
    }

    static ObjectNode summarize(MetricsSource.Reading reading) {
        ObjectNode m = JSON.objectNode();
        ArrayNode sources = m.putArray("sources");
        reading.sources().forEach(s -> {
            ObjectNode o = sources.addObject();
            o.put("name", s.name());
            o.put("ok", s.ok());
            o.put("error", s.error());
        });
        m.put("samples", reading.samples().size());
        ObjectNode ingest = m.putObject("ingest");
        sumBy(reading, "qlora_ingest_events_in_total", "source", ingest.putObject("eventsIn"));
        sumBy(reading, "qlora_ingest_filtered_total", "reason", ingest.putObject("filtered"));
        sumBy(reading, "qlora_ingest_examples_filtered_total", "reason", ingest.putObject("examplesFiltered"));
        sumBy(reading, "qlora_ingest_redactions_total", "type", ingest.putObject("redactions"));
        sumBy(reading, "qlora_ingest_dead_letters_total", "reason", ingest.putObject("deadLetters"));
        sumBy(reading, "qlora_ingest_examples_total", "split", ingest.putObject("examples"));

        Map<String, ObjectNode> trainer = new TreeMap<>();
        for (PrometheusText.Sample s : reading.samples()) {
            if (!s.name().startsWith("qlora_trainer_") || s.label("adapter").isEmpty() || !Double.isFinite(s.value())) {
                continue;
            }
            ObjectNode t = trainer.computeIfAbsent(s.label("adapter"), a -> {
                ObjectNode o = JSON.objectNode();
                o.put("adapter", a);
                return o;
            });
            switch (s.name()) {
                case "qlora_trainer_step" -> max(t, "step", s.value());
                case "qlora_trainer_loss" -> t.put("loss", s.value());
                case "qlora_trainer_tokens_per_second" -> add(t, "tokensPerSecond", s.value());
                case "qlora_trainer_consumer_lag_records" -> add(t, "lagRecords", s.value());
                case "qlora_trainer_examples_seen_total" -> max(t, "examplesSeen", s.value());
                default -> {
                }
            }
        }
        ArrayNode tr = m.putArray("trainer");
        trainer.values().forEach(tr::add);
        sumBy(reading, "qlora_evaluator_evaluations_total", "verdict", m.putObject("evaluationsByVerdict"));
        sumBy(reading, "qlora_publisher_releases_total", "kind", m.putObject("releasesByKind"));
        ObjectNode subs = m.putObject("subscriberVersions");
        for (PrometheusText.Sample s : reading.samples()) {
            if (s.name().equals("qlora_subscriber_current_version") && Double.isFinite(s.value())) {
                max(subs, s.label("adapter"), s.value());
            }
        }
        return m;
    }

    private static void sumBy(MetricsSource.Reading reading, String name, String label, ObjectNode into) {
        Map<String, Double> sums = new TreeMap<>();
        for (PrometheusText.Sample s : reading.samples()) {
            if (s.name().equals(name) && Double.isFinite(s.value())) {
                sums.merge(s.label(label), s.value(), Double::sum);
            }
        }
        sums.forEach(into::put);
    }

    private static void max(ObjectNode o, String key, double v) {
        o.put(key, o.has(key) ? Math.max(o.get(key).asDouble(), v) : v);
    }

    private static void add(ObjectNode o, String key, double v) {
        o.put(key, o.has(key) ? o.get(key).asDouble() + v : v);
    }
}
