package io.qlorastream.publisher;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Tags;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.schemas.service.ServiceMeters;
import java.util.Locale;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;

/**
 * The publisher's metrics on Micrometer's global registry (served to Prometheus by {@code --metrics-port}). From
 * the release log, which the publisher reads from its start: {@code qlora_publisher_releases_total{adapter,kind}}
 * (kind release or rollback) and {@code qlora_publisher_current_version{adapter}}. From this process's decisions:
 * {@code qlora_publisher_decisions_total{adapter,decision}} (released, refused, duplicate).
 */
final class PublisherMetrics implements AutoCloseable {
    private final ServiceMeters meters = new ServiceMeters();

    void bindClients(Consumer<?, ?> consumer, Producer<?, ?> producer) {
        meters.bindClients(consumer, producer);
    }

    /** A record of the release log: a release or a rollback, which makes its version the current one. */
    void logRecord(AdapterRelease r) {
        String adapter = r.getAdapterName();
        meters.count(Counter.builder("qlora.publisher.releases").tag("adapter", adapter).tag("kind", r.getKind().name().toLowerCase(Locale.ROOT))
                .description("Records of the release log: releases and rollbacks"));
        meters.set("qlora.publisher.current.version", Tags.of("adapter", adapter), r.getVersion(),
                "The adapter's current release version");
    }

    /** One evaluation decided by this process: released, refused or duplicate. */
    void decision(String adapter, String decision) {
        meters.count(Counter.builder("qlora.publisher.decisions").tag("adapter", adapter).tag("decision", decision)
                .description("Evaluations decided by this publisher process"));
    }

    @Override
    public void close() {
        meters.close();
    }
}
