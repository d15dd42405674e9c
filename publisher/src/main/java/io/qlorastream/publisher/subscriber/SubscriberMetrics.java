package io.qlorastream.publisher.subscriber;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Tags;
import io.qlorastream.schemas.service.ServiceMeters;

/**
 * A subscriber's metrics on Micrometer's global registry (served to Prometheus by {@code --metrics-port}):
 * {@code qlora_subscriber_current_version{adapter}}, {@code qlora_subscriber_installs_total{adapter}},
 * {@code qlora_subscriber_verification_failures_total{adapter}} (refused: bad signature, checksum, key) and
 * {@code qlora_subscriber_fetch_failures_total{adapter}} (tried again later).
 */
final class SubscriberMetrics implements AutoCloseable {
    private final ServiceMeters meters = new ServiceMeters();

    void installed(String adapter, int version) {
        count("qlora.subscriber.installs", adapter, "Releases installed and made current");
        meters.set("qlora.subscriber.current.version", Tags.of("adapter", adapter), version,
                "The version this subscriber serves as current");
    }

    void refused(String adapter) {
        count("qlora.subscriber.verification.failures", adapter, "Releases refused: signature, key or checksum did not verify");
    }

    void fetchFailed(String adapter) {
        count("qlora.subscriber.fetch.failures", adapter, "Release installs that failed to fetch and are tried again");
    }

    private void count(String name, String adapter, String description) {
        meters.count(Counter.builder(name).tag("adapter", adapter).description(description));
    }

    @Override
    public void close() {
        meters.close();
    }
}
