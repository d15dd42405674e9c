package io.qlorastream.app.metrics;

import java.io.PrintStream;
import picocli.CommandLine.Option;

/** {@code --metrics-port} (and {@code --metrics-host}) of the long-running services. */
public final class MetricsOptions {
    @Option(names = "--metrics-port", paramLabel = "PORT",
            description = "Serve Prometheus metrics at http://HOST:PORT/metrics; 0 = a free port (printed); unset = no endpoint.")
    Integer port;

    @Option(names = "--metrics-host", paramLabel = "HOST", defaultValue = "0.0.0.0",
            description = "Address the metrics endpoint listens on (default: ${DEFAULT-VALUE}).")
    String host;

    /** Starts the endpoint when {@code --metrics-port} was given (and says where); null otherwise. */
    public MetricsEndpoint start(String service, PrintStream out) {
        if (port == null) {
            return null;
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--metrics-port: must be 0..65535, got " + port);
        }
        MetricsEndpoint endpoint = MetricsEndpoint.start(service, host, port);
        out.println("Metrics at http://" + ("0.0.0.0".equals(host) ? "localhost" : host) + ":" + endpoint.port() + "/metrics");
        out.flush();
        return endpoint;
    }
}
