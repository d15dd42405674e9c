package io.qlorastream.schemas.service;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ServiceMetersTest {
    private static final SimpleMeterRegistry REGISTRY = new SimpleMeterRegistry();

    @BeforeAll
    static void addRegistry() {
        Metrics.addRegistry(REGISTRY);
    }

    @AfterAll
    static void removeRegistry() {
        Metrics.removeRegistry(REGISTRY);
    }

    @Test
    void countsAndGaugesLiveUntilCloseRemovesExactlyThem() {
        Counter other = Metrics.counter("test.other");
        ServiceMeters meters = new ServiceMeters();
        meters.count(Counter.builder("test.events").tag("adapter", "support"));
        meters.count(Counter.builder("test.events").tag("adapter", "support"));
        meters.set("test.version", Tags.of("adapter", "support"), 3, "a version");
        meters.set("test.version", Tags.of("adapter", "support"), 4, "a version");

        assertThat(REGISTRY.get("test.events").tag("adapter", "support").counter().count()).isEqualTo(2.0);
        assertThat(REGISTRY.get("test.version").tag("adapter", "support").gauge().value()).isEqualTo(4.0);

        meters.close();
        assertThat(REGISTRY.find("test.events").meters()).isEmpty();
        assertThat(REGISTRY.find("test.version").meters()).isEmpty();
        assertThat(Metrics.globalRegistry.find("test.other").counter()).isSameAs(other);
        Metrics.globalRegistry.remove(other);
    }
}
