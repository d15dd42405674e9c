package io.qlorastream.schemas.service;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;

/**
 * The meters one service instance registers on Micrometer's global registry (what {@code --metrics-port} serves),
 * kept so that {@link #close} removes exactly them: a closed instance leaves no stale series behind.
 */
public final class ServiceMeters implements AutoCloseable {
    private final MeterRegistry registry = Metrics.globalRegistry;
    private final List<Meter> meters = new CopyOnWriteArrayList<>();
    private final List<KafkaClientMetrics> clients = new CopyOnWriteArrayList<>();
    /** Latest value of each gauge made by {@link #set}, by its name and tags; the gauges read these holders. */
    private final Map<List<Object>, AtomicReference<Double>> latest = new ConcurrentHashMap<>();

    public MeterRegistry registry() {
        return registry;
    }

    /** Keeps a meter registered on {@link #registry()} (once, however often it is registered) and returns it. */
    public <M extends Meter> M keep(M meter) {
        if (!meters.contains(meter)) {
            meters.add(meter);
        }
        return meter;
    }

    /** Registers (or finds) the counter and increments it. */
    public void count(Counter.Builder counter) {
        keep(counter.register(registry)).increment();
    }

    /** Sets the gauge {@code name} with {@code tags} to {@code value}, registering it on first use. */
    public void set(String name, Iterable<Tag> tags, double value, String description) {
        Tags t = Tags.of(tags);
        latest.computeIfAbsent(List.of(name, t), k -> {
            AtomicReference<Double> holder = new AtomicReference<>(Double.NaN);
            keep(Gauge.builder(name, holder, AtomicReference::get).tags(t).description(description)
                    .strongReference(true).register(registry));
            return holder;
        }).set(value);
    }

    /** Binds the Kafka clients' own metrics (fetch rates, lag, request latencies...) until {@link #close}. */
    public void bindClients(Consumer<?, ?> consumer, Producer<?, ?> producer, Iterable<Tag> tags) {
        for (KafkaClientMetrics m : List.of(new KafkaClientMetrics(consumer, tags),
                new KafkaClientMetrics(producer, tags))) {
            m.bindTo(registry);
            clients.add(m);
        }
    }

    public void bindClients(Consumer<?, ?> consumer, Producer<?, ?> producer) {
        bindClients(consumer, producer, Tags.empty());
    }

    @Override
    public void close() {
        clients.forEach(KafkaClientMetrics::close);
        meters.forEach(registry::remove);
    }
}
