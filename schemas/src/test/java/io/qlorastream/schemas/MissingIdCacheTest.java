package io.qlorastream.schemas;

import com.sun.net.httpserver.HttpServer;
import io.qlorastream.schemas.registry.RegistryClientConfig;
import io.qlorastream.schemas.registry.RegistryException;
import io.qlorastream.schemas.registry.SchemaRegistryClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * An id the registry does not know is remembered as missing for {@code missing.id.cache.ttl.sec}: a run of records
 * naming it costs one round trip, not one per record. A plain HTTP server stands in for the registry so that the test
 * can count the requests that reach it.
 */
class MissingIdCacheTest {
    private HttpServer server;
    private final AtomicInteger lookups = new AtomicInteger();

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/schemas/ids/", exchange -> {
            lookups.incrementAndGet();
            byte[] body = "{\"error_code\":40403,\"message\":\"Schema 7 not found\"}".getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/vnd.schemaregistry.v1+json");
            exchange.sendResponseHeaders(404, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private SchemaRegistryClient client(String ttl) {
        String url = "http://127.0.0.1:" + server.getAddress().getPort();
        return new SchemaRegistryClient(ttl == null ? Map.of(RegistryClientConfig.URL, url)
                : Map.of(RegistryClientConfig.URL, url, RegistryClientConfig.MISSING_ID_CACHE_TTL_SEC, ttl));
    }

    @Test
    void byDefaultAMissingIdIsAskedForOnceThenRememberedWithTheRegistrysAnswer() {
        SchemaRegistryClient client = client(null);
        for (int i = 0; i < 50; i++) {
            assertThatThrownBy(() -> client.schemaById(7)).isInstanceOf(RegistryException.class)
                    .satisfies(e -> assertThat(((RegistryException) e).errorCode()).isEqualTo(RegistryException.SCHEMA_NOT_FOUND))
                    .hasMessageContaining("Schema 7 not found");
        }
        assertThat(lookups.get()).isEqualTo(1);
        assertThatThrownBy(() -> client.schemaById(7)).hasMessageContaining("remembered for 5 s, missing.id.cache.ttl.sec");
        assertThatThrownBy(() -> client.schemaById(8)).isInstanceOf(RegistryException.class);
        assertThat(lookups.get()).as("another id is asked for").isEqualTo(2);
    }

    @Test
    void theMemoryExpiresAndZeroTurnsItOff() throws Exception {
        SchemaRegistryClient remembering = client("1");
        assertThatThrownBy(() -> remembering.schemaById(7)).isInstanceOf(RegistryException.class);
        assertThatThrownBy(() -> remembering.schemaById(7)).isInstanceOf(RegistryException.class);
        assertThat(lookups.get()).isEqualTo(1);
        Thread.sleep(1_100);
        assertThatThrownBy(() -> remembering.schemaById(7)).isInstanceOf(RegistryException.class);
        assertThat(lookups.get()).as("asked again after the ttl").isEqualTo(2);

        SchemaRegistryClient forgetting = client("0");
        for (int i = 0; i < 3; i++) {
            assertThatThrownBy(() -> forgetting.schemaById(7)).isInstanceOf(RegistryException.class);
        }
        assertThat(lookups.get()).isEqualTo(5);
    }

    @Test
    void aNegativeTtlIsRefusedNamingTheKey() {
        assertThatThrownBy(() -> client("-1")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("missing.id.cache.ttl.sec must be 0 or more seconds, got -1");
    }
}
