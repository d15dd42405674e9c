package io.qlorastream.publisher;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.qlorastream.events.AdapterRelease;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;

/**
 * The publisher's metrics on Micrometer's global registry (served to Prometheus by {@code --metrics-port}). From
 * the release log, which the publisher reads from its start: {@code qlora_publisher_releases_total{adapter,kind}}
 * (kind release or rollback) and {@code qlora_publisher_current_version{adapter}}. From this process's decisions:
 * {@code qlora_publisher_decisions_total{adapter,decision}} (released, refused, duplicate).
 */
final class PublisherMetrics implements AutoCloseable {
    private final MeterRegistry registry = Metrics.globalRegistry;
    private final List<Meter> meters = new CopyOnWriteArrayList<>();
    private final List<KafkaClientMetrics> clients = new CopyOnWriteArrayList<>();
    private final Map<String, AtomicInteger> currentVersion = new ConcurrentHashMap<>();

    void bindClients(Consumer<?, ?> consumer, Producer<?, ?> producer) {
        for (KafkaClientMetrics m : List.of(new KafkaClientMetrics(consumer), new KafkaClientMetrics(producer))) {
            m.bindTo(registry);
            clients.add(m);
        }
    }

    /** A record of the release log: a release or a rollback, which makes its version the current one. */
    void logRecord(AdapterRelease r) {
        String adapter = r.getAdapterName();
        count(Counter.builder("qlora.publisher.releases").tag("adapter", adapter).tag("kind", r.getKind().name().toLowerCase(Locale.ROOT))
                .description("Records of the release log: releases and rollbacks"));
        currentVersion.computeIfAbsent(adapter, a -> {
            AtomicInteger v = new AtomicInteger();
            remember(Gauge.builder("qlora.publisher.current.version", v, AtomicInteger::get).tag("adapter", a)
                    .description("The adapter's current release version").strongReference(true).register(registry));
            return v;
        }).set(r.getVersion());
    }

    /** One evaluation decided by this process: released, refused or duplicate. */
    void decision(String adapter, String decision) {
        count(Counter.builder("qlora.publisher.decisions").tag("adapter", adapter).tag("decision", decision)
                .description("Evaluations decided by this publisher process"));
    }

    private void count(Counter.Builder b) {
        Counter c = b.register(registry);
        remember(c);
        c.increment();
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
