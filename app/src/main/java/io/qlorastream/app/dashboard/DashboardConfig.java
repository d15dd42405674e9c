package io.qlorastream.app.dashboard;

import io.qlorastream.schemas.contract.Topic;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where the dashboard listens, which topics it reads, how much it keeps and how often it reads the metrics.
 * {@link #defaults()} has the contract's topic names, port 8080 on the loopback interface.
 */
public record DashboardConfig(String host, int port, String snapshotsTopic, String evaluationsTopic, String releasesTopic,
                              String releaseLogTopic, int perAdapter, int maxAdapters, Duration metricsInterval) {
    public DashboardConfig {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--port: must be 0..65535, got " + port);
        }
        if (perAdapter < 1 || maxAdapters < 1) {
            throw new IllegalArgumentException("--keep and --max-adapters must be at least 1");
        }
    }

    /** Loopback unless a deployment says otherwise: the page shows adapters, topics and brokers. */
    public static final String DEFAULT_HOST = "127.0.0.1";

    public static DashboardConfig defaults() {
        return new DashboardConfig(DEFAULT_HOST, 8080, Topic.ADAPTER_SNAPSHOTS.defaultName(), Topic.ADAPTER_EVALUATIONS.defaultName(),
                Topic.ADAPTER_RELEASES.defaultName(), Topic.ADAPTER_RELEASE_LOG.defaultName(), 1000, 500, Duration.ofSeconds(5));
    }

    public DashboardConfig withListen(String newHost, int newPort) {
        return new DashboardConfig(newHost, newPort, snapshotsTopic, evaluationsTopic, releasesTopic, releaseLogTopic, perAdapter,
                maxAdapters, metricsInterval);
    }

    public DashboardConfig withMetricsInterval(Duration interval) {
        return new DashboardConfig(host, port, snapshotsTopic, evaluationsTopic, releasesTopic, releaseLogTopic, perAdapter,
                maxAdapters, interval);
    }

    /** Topic name by role (snapshots, evaluations, releases, releaseLog), in the page's order. */
    public Map<String, String> topicsByRole() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("snapshots", snapshotsTopic);
        m.put("evaluations", evaluationsTopic);
        m.put("releases", releasesTopic);
        m.put("releaseLog", releaseLogTopic);
        return m;
    }
}
