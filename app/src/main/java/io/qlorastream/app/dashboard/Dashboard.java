package io.qlorastream.app.dashboard;

import io.qlorastream.schemas.OneLine;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.qlorastream.app.http.HttpAuth;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The pipeline's web dashboard: a page, its script and style, {@code /api/state} (the whole state as JSON) and
 * {@code /api/events} (the same state pushed as server-sent events whenever it changed, at most once a second).
 *
 * <p>Server-sent events rather than polling: the server knows when the state moved (a new event or a metrics
 * reading), so an idle pipeline costs the browser nothing, and {@code EventSource} reconnects on its own when the
 * dashboard restarts. Served by the JDK's HTTP server, like the metrics endpoint: four routes need no framework.
 * Every response carries a Content-Security-Policy of {@code default-src 'self'}: the page loads nothing from
 * elsewhere (it works without internet) and no injected markup could run a script.
 *
 * <p>With an {@link HttpAuth} that requires credentials every route (page, files, state, event stream) answers 401
 * without them: the state names adapters, topics and brokers.
 *
 * <p>{@code start} binds the port (a taken one is an {@link IllegalArgumentException} naming it), then reads the
 * topics and the metrics in the background; an unreachable broker is shown on the page, not thrown.
 */
public final class Dashboard implements AutoCloseable {
    static final String CSP = "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";
    private static final String RESOURCES = "/io/qlorastream/app/dashboard/";
    private static final Map<String, String> STATIC_TYPES = Map.of(
            "app.js", "text/javascript; charset=utf-8",
            "app.css", "text/css; charset=utf-8");
    /** Each open event stream holds a server thread; more browsers than this are told to retry. */
    private static final int MAX_STREAMS = 16;

    private final HttpServer server;
    private final ExecutorService http;
    private final DashboardState state;
    private final DashboardFeed reader;
    private final Thread readerThread;
    private final ScheduledExecutorService metricsPoller;
    private final MetricsSource metrics;
    private final String host;
    private final Semaphore streams = new Semaphore(MAX_STREAMS);
    private final Map<String, byte[]> files = new HashMap<>();
    private volatile boolean closed;
    /** The last rendered state: every open page and every /api/state call of one version share one rendering. */
    private volatile Rendered rendered = new Rendered(-1, "");

    private record Rendered(long version, String json) {
    }

    private Dashboard(DashboardConfig config, Properties kafkaClient, MetricsSource metrics, HttpAuth auth) {
        this.host = config.host();
        this.metrics = metrics;
        this.state = new DashboardState(config.perAdapter(), config.maxAdapters());
        state.topics(kafkaClient.getProperty("bootstrap.servers", ""), config.topicsByRole());
        for (String name : new String[]{"index.html", "app.js", "app.css"}) {
            files.put(name, resource(name));
        }
        try {
            server = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 64);
        } catch (BindException e) {
            throw new IllegalArgumentException("--port: cannot listen on " + config.host() + ":" + config.port() + " (" + e.getMessage() + ")");
        } catch (IOException e) {
            throw new UncheckedIOException("--port: cannot start the dashboard server on " + config.host() + ":" + config.port(), e);
        }
        http = Executors.newFixedThreadPool(MAX_STREAMS + 8, daemon("dashboard-http"));
        server.setExecutor(http);
        server.createContext("/", this::page).setAuthenticator(auth);
        server.createContext("/static/", this::staticFile).setAuthenticator(auth);
        server.createContext("/api/state", this::apiState).setAuthenticator(auth);
        server.createContext("/api/events", this::apiEvents).setAuthenticator(auth);
        server.start();

        reader = new DashboardFeed(kafkaClient, config, state);
        readerThread = daemon("dashboard-topics").newThread(reader);
        readerThread.start();
        metricsPoller = Executors.newSingleThreadScheduledExecutor(daemon("dashboard-metrics"));
        metricsPoller.scheduleWithFixedDelay(this::readMetrics, 0, config.metricsInterval().toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Starts a dashboard: listens on {@code config.host():config.port()} (0: a free port), reads the topics of
     * {@code config} with the Kafka client settings {@code kafkaClient} (bootstrap.servers, schema.registry.url and
     * any security settings), and reads {@code metrics} every {@code config.metricsInterval()}. Closing it closes
     * the metrics source too. Serves anyone who reaches it; see the overload with an {@link HttpAuth}.
     */
    public static Dashboard start(DashboardConfig config, Properties kafkaClient, MetricsSource metrics) {
        return start(config, kafkaClient, metrics, HttpAuth.none());
    }

    /** As {@link #start(DashboardConfig, Properties, MetricsSource)}, serving only the clients {@code auth} admits. */
    public static Dashboard start(DashboardConfig config, Properties kafkaClient, MetricsSource metrics, HttpAuth auth) {
        try {
            return new Dashboard(config, kafkaClient, metrics, auth);
        } catch (RuntimeException e) {
            metrics.close();
            throw e;
        }
    }

    /** Where a browser on this machine finds the page. */
    public String url() {
        String h = "0.0.0.0".equals(host) || "::".equals(host) ? "localhost" : host;
        return "http://" + h + ":" + port() + "/";
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** The address it listens on. */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    /** The state as {@code /api/state} serves it. */
    public String stateJson() {
        long v = state.version();
        Rendered r = rendered;
        if (r.version() != v) {
            // read the version first: a change racing the rendering makes the next call render again
            r = new Rendered(v, state.toJson());
            rendered = r;
        }
        return r.json();
    }

    private void readMetrics() {
        try {
            state.metrics(metrics.read(), System.currentTimeMillis());
        } catch (RuntimeException e) {
            // a source's own failure is in its reading; anything else must not stop the poller
            state.metrics(new MetricsSource.Reading(java.util.List.of(),
                    java.util.List.of(new MetricsSource.SourceStatus("metrics", false, OneLine.of(e)))), System.currentTimeMillis());
        }
    }

    // ---- routes

    private void page(HttpExchange x) throws IOException {
        try (x) {
            if (!allowGet(x)) {
                return;
            }
            String path = x.getRequestURI().getPath();
            if (path.equals("/favicon.ico")) {
                // no icon: an empty answer rather than a 404 in every browser console
                headers(x, "image/x-icon");
                x.sendResponseHeaders(204, -1);
                return;
            }
            if (!path.equals("/") && !path.equals("/index.html")) {
                send(x, 404, "text/plain; charset=utf-8", "not found\n".getBytes(StandardCharsets.UTF_8));
                return;
            }
            send(x, 200, "text/html; charset=utf-8", files.get("index.html"));
        }
    }

    private void staticFile(HttpExchange x) throws IOException {
        try (x) {
            if (!allowGet(x)) {
                return;
            }
            // a fixed list of names: nothing else of the class path (or the disk) can be asked for
            String name = x.getRequestURI().getPath().substring("/static/".length());
            String type = STATIC_TYPES.get(name);
            if (type == null) {
                send(x, 404, "text/plain; charset=utf-8", "not found\n".getBytes(StandardCharsets.UTF_8));
                return;
            }
            send(x, 200, type, files.get(name));
        }
    }

    private void apiState(HttpExchange x) throws IOException {
        try (x) {
            if (!allowGet(x)) {
                return;
            }
            send(x, 200, "application/json; charset=utf-8", stateJson().getBytes(StandardCharsets.UTF_8));
        }
    }

    private void apiEvents(HttpExchange x) throws IOException {
        try (x) {
            if (!allowGet(x)) {
                return;
            }
            if (!streams.tryAcquire()) {
                x.getResponseHeaders().set("Retry-After", "5");
                send(x, 503, "text/plain; charset=utf-8", "too many open dashboards\n".getBytes(StandardCharsets.UTF_8));
                return;
            }
            try {
                headers(x, "text/event-stream; charset=utf-8");
                x.sendResponseHeaders(200, 0);
                OutputStream out = x.getResponseBody();
                // a lost connection is retried by the browser after this many milliseconds
                out.write("retry: 2000\n\n".getBytes(StandardCharsets.UTF_8));
                long sent = -1;
                long lastWrite = System.nanoTime();
                while (!closed) {
                    long v = state.version();
                    if (v != sent) {
                        // compact JSON: no raw newline inside, so one data line carries the whole document
                        out.write(("event: state\ndata: " + stateJson() + "\n\n").getBytes(StandardCharsets.UTF_8));
                        out.flush();
                        sent = v;
                        lastWrite = System.nanoTime();
                    } else if (System.nanoTime() - lastWrite > TimeUnit.SECONDS.toNanos(15)) {
                        out.write(": keep-alive\n\n".getBytes(StandardCharsets.UTF_8));
                        out.flush();
                        lastWrite = System.nanoTime();
                    }
                    Thread.sleep(1000);
                }
            } catch (IOException e) {
                // the browser went away
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                streams.release();
            }
        }
    }

    private static boolean allowGet(HttpExchange x) throws IOException {
        String m = x.getRequestMethod();
        if ("GET".equals(m) || "HEAD".equals(m)) {
            return true;
        }
        x.getResponseHeaders().set("Allow", "GET, HEAD");
        x.sendResponseHeaders(405, -1);
        return false;
    }

    private static void headers(HttpExchange x, String contentType) {
        x.getResponseHeaders().set("Content-Type", contentType);
        x.getResponseHeaders().set("Content-Security-Policy", CSP);
        x.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        x.getResponseHeaders().set("Referrer-Policy", "no-referrer");
        x.getResponseHeaders().set("Cache-Control", "no-store");
    }

    private static void send(HttpExchange x, int status, String contentType, byte[] body) throws IOException {
        headers(x, contentType);
        if ("HEAD".equals(x.getRequestMethod())) {
            x.sendResponseHeaders(status, -1);
            return;
        }
        x.sendResponseHeaders(status, body.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(body);
        }
    }

    private static byte[] resource(String name) {
        try (InputStream in = Dashboard.class.getResourceAsStream(RESOURCES + name)) {
            if (in == null) {
                throw new IllegalStateException("dashboard resource " + name + " is missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    @Override
    public void close() {
        closed = true;
        server.stop(0);
        http.shutdownNow();
        reader.close();
        try {
            readerThread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        metricsPoller.shutdownNow();
        metrics.close();
    }
}
