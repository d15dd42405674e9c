package io.qlorastream.app.dashboard;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Where the dashboard reads the services' {@code qlora_*} series from: scrapes of their Prometheus endpoints
 * ({@code dashboard --metrics-url}), or the registry of the process the dashboard runs in (the demo, which runs
 * every service in one JVM). Either way the series carry their Prometheus names, so the page reads one shape.
 */
public interface MetricsSource extends AutoCloseable {
    /** Only our own series reach the page; the JVM and Kafka client ones are Grafana's business. */
    String PREFIX = "qlora_";

    /** Every {@code qlora_*} sample now, and how each source answered. Never throws for an unreachable source. */
    Reading read();

    @Override
    default void close() {
    }

    /** One reading: the samples of all sources together, and one status per source. */
    record Reading(List<PrometheusText.Sample> samples, List<SourceStatus> sources) {
        public Reading {
            samples = List.copyOf(samples);
            sources = List.copyOf(sources);
        }
    }

    /** A source's name (its URL), whether it answered, and the one-line reason when it did not. */
    record SourceStatus(String name, boolean ok, String error) {
    }

    /** No metrics: the page says so. */
    static MetricsSource none() {
        return () -> new Reading(List.of(), List.of());
    }

    /** Scrapes each {@code /metrics} URL on every read (each with {@code timeout}); their samples are summed by the page. */
    static MetricsSource scrape(List<URI> urls, Duration timeout) {
        return scrape(urls, timeout, null);
    }

    /** As {@link #scrape(List, Duration)}, sending {@code authorization} (null: none) as the Authorization header. */
    static MetricsSource scrape(List<URI> urls, Duration timeout, String authorization) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(timeout).build();
        return () -> {
            List<PrometheusText.Sample> samples = new ArrayList<>();
            List<SourceStatus> sources = new ArrayList<>();
            for (URI url : urls) {
                try {
                    HttpRequest.Builder request = HttpRequest.newBuilder(url).timeout(timeout).GET();
                    if (authorization != null) {
                        request.header("Authorization", authorization);
                    }
                    HttpResponse<String> r = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() != 200) {
                        sources.add(new SourceStatus(url.toString(), false, "HTTP " + r.statusCode()));
                        continue;
                    }
                    samples.addAll(PrometheusText.parse(r.body(), PREFIX));
                    sources.add(new SourceStatus(url.toString(), true, ""));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    sources.add(new SourceStatus(url.toString(), false, "interrupted"));
                } catch (Exception e) {
                    String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": " + e.getMessage();
                    sources.add(new SourceStatus(url.toString(), false, "unreachable (" + why + ")"));
                }
            }
            return new Reading(samples, sources);
        };
    }

    /** Prometheus text from any supplier, e.g. {@code MetricsEndpoint::scrape} of an endpoint the process already runs. */
    static MetricsSource text(String name, Supplier<String> prometheusText) {
        return () -> new Reading(PrometheusText.parse(prometheusText.get(), PREFIX), List.of(new SourceStatus(name, true, "")));
    }

    /**
     * The meters of {@code registry} (usually {@code Metrics.globalRegistry}, where the services record), read in
     * process. A Prometheus registry is read as is; to any other one a Prometheus registry is added (and removed on
     * close), so the names are exactly those of a scrape. Create it before the services start: a plain counter's
     * increments made while the global registry has no registry attached are not kept.
     */
    static MetricsSource inProcess(MeterRegistry registry) {
        if (registry instanceof PrometheusMeterRegistry prometheus) {
            return text("in-process", prometheus::scrape);
        }
        if (!(registry instanceof CompositeMeterRegistry composite)) {
            throw new IllegalArgumentException("inProcess needs a PrometheusMeterRegistry or a composite one (Metrics.globalRegistry), got "
                    + registry.getClass().getName());
        }
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        composite.add(prometheus);
        return new MetricsSource() {
            @Override
            public Reading read() {
                return new Reading(PrometheusText.parse(prometheus.scrape(), PREFIX), List.of(new SourceStatus("in-process", true, "")));
            }

            @Override
            public void close() {
                composite.remove(prometheus);
                prometheus.close();
            }
        };
    }
}
