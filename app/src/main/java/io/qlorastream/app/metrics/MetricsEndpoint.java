package io.qlorastream.app.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.qlorastream.app.http.HttpAuth;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A Prometheus scrape endpoint, {@code GET /metrics}, for one service process. The services record on Micrometer's
 * global registry; this adds a Prometheus registry to it (so every meter, including those registered earlier,
 * reaches the scrape), with the JVM's own metrics and a common {@code service} tag. Start it before the service:
 * a plain counter's increments made while the global registry has no registry are not kept (function counters and
 * gauges read their source at scrape time, so those are). Served by the JDK's HTTP server:
 * a scrape is one small GET, nothing a web framework would add to. With an {@link HttpAuth} that requires
 * credentials, a scrape without them is a 401 (Prometheus sends them with {@code authorization} or {@code basic_auth}).
 */
public final class MetricsEndpoint implements AutoCloseable {
    /** The exposition format Prometheus scrapes as text. */
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final PrometheusMeterRegistry registry;
    private final HttpServer server;
    private final ExecutorService executor;
    private final JvmGcMetrics gc;

    private MetricsEndpoint(PrometheusMeterRegistry registry, HttpServer server, ExecutorService executor, JvmGcMetrics gc) {
        this.registry = registry;
        this.server = server;
        this.executor = executor;
        this.gc = gc;
    }

    /** Serves on {@code host:port} (port 0: a free one) to anyone; throws with the port named when it cannot bind. */
    public static MetricsEndpoint start(String service, String host, int port) {
        return start(service, host, port, HttpAuth.none());
    }

    /** Serves on {@code host:port} (port 0: a free one) to the clients {@code auth} admits. */
    public static MetricsEndpoint start(String service, String host, int port, HttpAuth auth) {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.config().commonTags("service", service);
        new JvmMemoryMetrics().bindTo(registry);
        JvmGcMetrics gc = new JvmGcMetrics();
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        HttpServer server;
        try {
            server = HttpServer.create(new InetSocketAddress(host, port), 16);
        } catch (BindException e) {
            gc.close();
            registry.close();
            throw new IllegalArgumentException("--metrics-port: cannot listen on " + host + ":" + port + " (" + e.getMessage() + ")");
        } catch (IOException e) {
            gc.close();
            registry.close();
            throw new UncheckedIOException("--metrics-port: cannot start the metrics server on " + host + ":" + port, e);
        }
        ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "metrics-http");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/metrics", exchange -> scrape(registry, exchange)).setAuthenticator(auth);
        server.start();
        Metrics.addRegistry(registry);
        return new MetricsEndpoint(registry, server, executor, gc);
    }

    private static void scrape(PrometheusMeterRegistry registry, HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!"GET".equals(exchange.getRequestMethod()) && !"HEAD".equals(exchange.getRequestMethod())) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
            if ("HEAD".equals(exchange.getRequestMethod())) {
                exchange.sendResponseHeaders(200, -1);
                return;
            }
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    /** The port it listens on (the chosen one when started with 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    /** The address it listens on. */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    /** The text a scrape would return now. */
    public String scrape() {
        return registry.scrape();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
        Metrics.removeRegistry(registry);
        gc.close();
        registry.close();
    }
}
