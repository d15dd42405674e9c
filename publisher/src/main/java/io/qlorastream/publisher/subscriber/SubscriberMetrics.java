package io.qlorastream.publisher.subscriber;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A subscriber's metrics on Micrometer's global registry (served to Prometheus by {@code --metrics-port}):
 * {@code qlora_subscriber_current_version{adapter}}, {@code qlora_subscriber_installs_total{adapter}},
 * {@code qlora_subscriber_verification_failures_total{adapter}} (refused: bad signature, checksum, key) and
 * {@code qlora_subscriber_fetch_failures_total{adapter}} (tried again later).
 */
final class SubscriberMetrics implements AutoCloseable {
    private final MeterRegistry registry = Metrics.globalRegistry;
    private final List<Meter> meters = new CopyOnWriteArrayList<>();
    private final Map<String, AtomicInteger> current = new ConcurrentHashMap<>();

    void installed(String adapter, int version) {
        count("qlora.subscriber.installs", adapter, "Releases installed and made current");
        current.computeIfAbsent(adapter, a -> {
            AtomicInteger v = new AtomicInteger();
            remember(Gauge.builder("qlora.subscriber.current.version", v, AtomicInteger::get).tag("adapter", a)
                    .description("The version this subscriber serves as current").strongReference(true).register(registry));
            return v;
        }).set(version);
    }

    void refused(String adapter) {
        count("qlora.subscriber.verification.failures", adapter, "Releases refused: signature, key or checksum did not verify");
    }

    void fetchFailed(String adapter) {
        count("qlora.subscriber.fetch.failures", adapter, "Release installs that failed to fetch and are tried again");
    }

    private void count(String name, String adapter, String description) {
        Counter c = Counter.builder(name).tag("adapter", adapter).description(description).register(registry);
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
        meters.forEach(registry::remove);
    }
}
