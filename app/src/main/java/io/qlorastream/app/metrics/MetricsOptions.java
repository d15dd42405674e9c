package io.qlorastream.app.metrics;

import io.qlorastream.app.http.HttpAuth;
import java.io.PrintStream;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --metrics-port}, {@code --metrics-host} and the endpoint's optional credentials, for the long-running services. */
public final class MetricsOptions {
    /** Loopback unless a deployment says otherwise: the series name adapters, hosts and traffic. */
    public static final String DEFAULT_HOST = "127.0.0.1";

    @Option(names = "--metrics-port", paramLabel = "PORT",
            description = "Serve Prometheus metrics at http://HOST:PORT/metrics; 0 = a free port (printed); unset = no endpoint.")
    Integer port;

    @Option(names = "--metrics-host", paramLabel = "HOST", defaultValue = DEFAULT_HOST,
            description = "Address the metrics endpoint listens on; 0.0.0.0 = every interface (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--metrics-auth-token-file", paramLabel = "FILE",
            description = "Require this file's bearer token on every scrape (Authorization: Bearer TOKEN).")
    Path tokenFile;

    @Option(names = "--metrics-basic-auth-file", paramLabel = "FILE",
            description = "Require HTTP basic auth of a user in this file: one user:password or user:{SHA}... (htpasswd -s) per line.")
    Path basicAuthFile;

    /** Starts the endpoint when {@code --metrics-port} was given (and says where); null otherwise. */
    public MetricsEndpoint start(String service, PrintStream out) {
        if (port == null) {
            return null;
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--metrics-port: must be 0..65535, got " + port);
        }
        HttpAuth auth = HttpAuth.fromFiles("--metrics-auth-token-file", tokenFile, "--metrics-basic-auth-file", basicAuthFile);
        MetricsEndpoint endpoint = MetricsEndpoint.start(service, host, port, auth);
        out.println("Metrics at http://" + ("0.0.0.0".equals(host) ? "localhost" : host) + ":" + endpoint.port() + "/metrics"
                + (auth.required() ? " (" + auth.describe() + ")" : ""));
        out.flush();
        return endpoint;
    }
}
