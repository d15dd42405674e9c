package io.qlorastream.schemas;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.qlorastream.schemas.registry.RegistryException;
import io.qlorastream.schemas.registry.SchemaRegistryClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The client's HTTP behaviour against real local HTTP(S) servers that answer like a registry under stress:
 * retries on 5xx and connection errors, no retry on 4xx, basic auth from Confluent's keys, TLS trust store.
 */
class RegistryClientTest {
    private final List<HttpServer> servers = new ArrayList<>();
    private final List<String> authorizations = Collections.synchronizedList(new ArrayList<>());

    /** A server answering GET /subjects: {@code failures} times with the given status, then ["a"]. */
    private HttpServer server(HttpServer s, int failures, int failStatus, AtomicInteger calls) {
        s.createContext("/", ex -> {
            authorizations.add(ex.getRequestHeaders().getFirst("Authorization"));
            int n = calls.incrementAndGet();
            if (n <= failures) {
                answer(ex, failStatus, "{\"error_code\":" + (failStatus == 500 ? 50001 : 40401) + ",\"message\":\"failure " + n + "\"}");
            } else {
                answer(ex, 200, "[\"a\"]");
            }
        });
        s.start();
        servers.add(s);
        return s;
    }

    private HttpServer http(int failures, int failStatus, AtomicInteger calls) throws IOException {
        return server(HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0), failures, failStatus, calls);
    }

    private static void answer(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", SchemaRegistryClient.CONTENT_TYPE);
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
    }

    private static String url(HttpServer s) {
        return (s instanceof HttpsServer ? "https" : "http") + "://127.0.0.1:" + s.getAddress().getPort();
    }

    @AfterEach
    void stop() {
        servers.forEach(s -> s.stop(0));
    }

    @Test
    void serverErrorsAreRetriedWithBackoffUntilSuccess() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        HttpServer s = http(2, 503, calls);
        SchemaRegistryClient c = new SchemaRegistryClient(Map.of("schema.registry.url", url(s), "max.retries", "3", "retries.wait.ms", "50"));
        long t = System.nanoTime();
        assertThat(c.subjects()).containsExactly("a");
        assertThat(calls.get()).isEqualTo(3);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t)).as("waited 50 + 100 ms").isGreaterThanOrEqualTo(150);
    }

    @Test
    void persistentServerErrorsEndInATypedErrorAfterMaxRetries() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        HttpServer s = http(100, 500, calls);
        SchemaRegistryClient c = new SchemaRegistryClient(Map.of("schema.registry.url", url(s), "max.retries", "2", "retries.wait.ms", "1"));
        assertThatThrownBy(c::subjects).isInstanceOf(RegistryException.class).hasMessage("failure 3")
                .satisfies(e -> assertThat(((RegistryException) e).errorCode()).isEqualTo(50001));
        assertThat(calls.get()).isEqualTo(3);
    }

    @Test
    void clientErrorsAreNotRetried() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        HttpServer s = http(100, 404, calls);
        SchemaRegistryClient c = new SchemaRegistryClient(Map.of("schema.registry.url", url(s), "retries.wait.ms", "1"));
        assertThatThrownBy(c::subjects).isInstanceOf(RegistryException.SubjectNotFoundException.class);
        assertThat(calls.get()).isEqualTo(1);
    }

    @Test
    void aConnectionErrorFailsOverToTheNextUrl() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        HttpServer s = http(0, 500, calls);
        int dead;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            dead = probe.getLocalPort();
        }
        SchemaRegistryClient c = new SchemaRegistryClient(Map.of("schema.registry.url", "http://127.0.0.1:" + dead + "," + url(s), "retries.wait.ms", "1"));
        assertThat(c.subjects()).containsExactly("a");
        assertThat(calls.get()).isEqualTo(1);
    }

    @Test
    void basicAuthComesFromUserInfoOrFromTheUrl() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        HttpServer s = http(0, 500, calls);
        new SchemaRegistryClient(Map.of("schema.registry.url", url(s), "basic.auth.credentials.source", "USER_INFO",
                "basic.auth.user.info", "alice:s3cret")).subjects();
        new SchemaRegistryClient(Map.of("schema.registry.url", "http://bob:pw@127.0.0.1:" + s.getAddress().getPort())).subjects();
        new SchemaRegistryClient(Map.of("schema.registry.url", url(s))).subjects();
        assertThat(authorizations).containsExactly("Basic YWxpY2U6czNjcmV0", "Basic Ym9iOnB3", null);
        assertThatThrownBy(() -> new SchemaRegistryClient(Map.of("schema.registry.url", url(s), "basic.auth.credentials.source", "USER_INFO")))
                .hasMessageContaining("basic.auth.user.info");
        assertThatThrownBy(() -> new SchemaRegistryClient(Map.of("schema.registry.url", url(s), "basic.auth.credentials.source", "SASL_INHERIT")))
                .hasMessageContaining("SASL_INHERIT");
    }

    @Test
    void tlsUsesTheConfiguredTrustStore(@TempDir Path dir) throws Exception {
        Path keystore = dir.resolve("server.p12");
        Path truststore = dir.resolve("trust.p12");
        Path cert = dir.resolve("server.crt");
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        run(keytool, "-genkeypair", "-alias", "registry", "-keyalg", "EC", "-dname", "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1",
                "-validity", "2", "-storetype", "PKCS12", "-keystore", keystore.toString(), "-storepass", "changeit");
        run(keytool, "-exportcert", "-alias", "registry", "-keystore", keystore.toString(), "-storepass", "changeit", "-file", cert.toString());
        run(keytool, "-importcert", "-noprompt", "-alias", "registry", "-file", cert.toString(), "-storetype", "PKCS12",
                "-keystore", truststore.toString(), "-storepass", "trustpw");

        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            ks.load(in, "changeit".toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "changeit".toCharArray());
        SSLContext serverCtx = SSLContext.getInstance("TLS");
        serverCtx.init(kmf.getKeyManagers(), null, null);
        HttpsServer https = HttpsServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
        https.setHttpsConfigurator(new HttpsConfigurator(serverCtx));
        AtomicInteger calls = new AtomicInteger();
        server(https, 0, 500, calls);

        SchemaRegistryClient trusting = new SchemaRegistryClient(Map.of("schema.registry.url", url(https),
                "schema.registry.ssl.truststore.location", truststore.toString(), "schema.registry.ssl.truststore.password", "trustpw",
                "schema.registry.ssl.truststore.type", "PKCS12"));
        assertThat(trusting.subjects()).containsExactly("a");

        SchemaRegistryClient untrusting = new SchemaRegistryClient(Map.of("schema.registry.url", url(https), "max.retries", "0"));
        assertThatThrownBy(untrusting::subjects).isInstanceOf(RegistryException.class).hasMessageContaining("unreachable");
        assertThatThrownBy(() -> new SchemaRegistryClient(Map.of("schema.registry.url", url(https),
                "schema.registry.ssl.truststore.location", dir.resolve("missing.p12").toString())))
                .hasMessageContaining("schema.registry.ssl.truststore.location").hasMessageContaining("missing.p12");
    }

    @Test
    void badUrlsAreRefusedNamingTheKey() {
        assertThatThrownBy(() -> new SchemaRegistryClient(Map.of())).hasMessage("missing schema.registry.url");
        assertThatThrownBy(() -> new SchemaRegistryClient(Map.of("schema.registry.url", "ftp://x"))).hasMessage("schema.registry.url: not an http(s) URL: ftp://x");
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
    }
}
