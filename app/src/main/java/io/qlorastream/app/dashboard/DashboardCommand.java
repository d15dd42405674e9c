package io.qlorastream.app.dashboard;

import io.qlorastream.app.cli.KafkaOptions;
import io.qlorastream.app.cli.TopicOptions;
import io.qlorastream.app.http.HttpAuth;
import io.qlorastream.schemas.contract.Topic;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code qlora-stream dashboard}: a live web page of the pipeline's topics and the services' metrics. */
@Command(name = "dashboard",
        description = {"Serve a live web page of the pipeline: the ingest flow (from the services' metrics), a loss curve per adapter,",
                "every evaluation with its gate checks, the release timeline with rollbacks, and each release's lineage back to",
                "its snapshot and the topic offsets it was trained on. Reads the topics from the beginning, commits nothing."})
public final class DashboardCommand implements Callable<Integer> {
    @Mixin
    KafkaOptions kafka;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "8080",
            description = "Port the page is served on; 0 = a free one (printed) (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--host", paramLabel = "HOST", defaultValue = DashboardConfig.DEFAULT_HOST,
            description = "Address the page is served on; 0.0.0.0 = every interface (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--auth-token-file", paramLabel = "FILE",
            description = "Require this file's bearer token (Authorization: Bearer TOKEN) for the page, its state and its event stream.")
    Path authTokenFile;

    @Option(names = "--basic-auth-file", paramLabel = "FILE",
            description = "Require HTTP basic auth of a user in this file: one user:password or user:{SHA}... (htpasswd -s) per line.")
    Path basicAuthFile;

    @Option(names = "--metrics-auth-token-file", paramLabel = "FILE",
            description = "Send this file's bearer token to the --metrics-url endpoints (the services' file of the same option).")
    Path metricsAuthTokenFile;

    @Option(names = "--metrics-basic-auth-file", paramLabel = "FILE",
            description = "Send basic auth to the --metrics-url endpoints: the first user:password line of this file.")
    Path metricsBasicAuthFile;

    @Option(names = "--metrics-url", paramLabel = "URL",
            description = "A service's Prometheus endpoint (http://HOST:PORT/metrics) to show the ingest flow and trainer from; repeat for each.")
    List<URI> metricsUrls = new ArrayList<>();

    @Option(names = "--metrics-interval", paramLabel = "SECONDS", defaultValue = "5",
            description = "Seconds between two reads of the metrics endpoints (default: ${DEFAULT-VALUE}).")
    int metricsInterval;

    @Option(names = "--keep", paramLabel = "N", defaultValue = "1000",
            description = "Snapshots, evaluations and releases kept per adapter, the newest (default: ${DEFAULT-VALUE}).")
    int keep;

    @Mixin
    TopicOptions topics = new TopicOptions(Topic.ADAPTER_SNAPSHOTS, Topic.ADAPTER_EVALUATIONS, Topic.ADAPTER_RELEASES,
            Topic.ADAPTER_RELEASE_LOG);

    @Override
    public Integer call() throws Exception {
        if (metricsInterval < 1) {
            throw new IllegalArgumentException("--metrics-interval: must be at least 1 second, got " + metricsInterval);
        }
        for (URI u : metricsUrls) {
            if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme())) {
                throw new IllegalArgumentException("--metrics-url: not an http(s) URL: " + u);
            }
        }
        DashboardConfig config = new DashboardConfig(host, port, topics.name(Topic.ADAPTER_SNAPSHOTS), topics.name(Topic.ADAPTER_EVALUATIONS),
                topics.name(Topic.ADAPTER_RELEASES), topics.name(Topic.ADAPTER_RELEASE_LOG),
                keep, DashboardConfig.defaults().maxAdapters(), Duration.ofSeconds(metricsInterval));
        HttpAuth auth = HttpAuth.fromFiles("--auth-token-file", authTokenFile, "--basic-auth-file", basicAuthFile);
        String scrapeAuthorization = HttpAuth.clientHeader("--metrics-auth-token-file", metricsAuthTokenFile,
                "--metrics-basic-auth-file", metricsBasicAuthFile);
        MetricsSource metrics = metricsUrls.isEmpty() ? MetricsSource.none()
                : MetricsSource.scrape(metricsUrls, Duration.ofSeconds(3), scrapeAuthorization);
        PrintStream out = System.out;
        Dashboard dashboard = Dashboard.start(config, kafka.clientProperties(), metrics, auth);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            dashboard.close();
            stopped.countDown();
        }, "dashboard-shutdown"));
        out.println("Dashboard at " + dashboard.url() + " (reading " + kafka.bootstrapServers() + ", "
                + (metricsUrls.isEmpty() ? "no metrics endpoints" : metricsUrls.size() + " metrics endpoint(s)") + ", "
                + auth.describe() + "). Press Ctrl-C to stop.");
        out.flush();
        stopped.await();
        return 0;
    }
}
