package io.qlorastream.schemas;

import com.sun.net.httpserver.HttpServer;
import io.qlorastream.schemas.registry.SchemaRegistryClient;
import org.apache.avro.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The id cache a serializer hits once per record: the same Schema instance asks the registry once, and a schema
 * that {@code Schema.equals} calls equal but that differs in a doc (which the registry keeps apart) still gets its
 * own registration.
 */
class RegistryClientCacheTest {
    private HttpServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
    }

    @Test
    void oneRequestPerSchemaInstanceAndDocsKeptApart() throws IOException {
        AtomicInteger posts = new AtomicInteger();
        Map<String, Integer> idsByBody = new ConcurrentHashMap<>();
        server = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
        server.createContext("/subjects/s/versions", ex -> {
            posts.incrementAndGet();
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            int id = idsByBody.computeIfAbsent(body, b -> idsByBody.size() + 1);
            byte[] answer = ("{\"id\":" + id + "}").getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", SchemaRegistryClient.CONTENT_TYPE);
            ex.sendResponseHeaders(200, answer.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(answer);
            }
        });
        server.start();
        String json = "{\"type\":\"record\",\"name\":\"R\",\"doc\":\"%s\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"}]}";
        Schema first = new Schema.Parser().parse(String.format(json, "one"));
        Schema otherDoc = new Schema.Parser().parse(String.format(json, "two"));
        assertThat(otherDoc).isEqualTo(first); // Avro's equals ignores docs...

        try (SchemaRegistryClient client = SchemaRegistryClient.of("http://127.0.0.1:" + server.getAddress().getPort())) {
            for (int i = 0; i < 5; i++) {
                assertThat(client.register("s", first)).isEqualTo(1);
            }
            assertThat(posts).hasValue(1);
            assertThat(client.register("s", otherDoc)).isEqualTo(2); // ...the registry does not
            assertThat(client.idOf("s", otherDoc)).isEqualTo(2);
            assertThat(posts).hasValue(2);
            assertThat(client.register("s", new Schema.Parser().parse(String.format(json, "one")))).isEqualTo(1); // a new instance: the text cache
            assertThat(posts).hasValue(2);
        }
        assertThat(List.copyOf(idsByBody.values())).containsExactlyInAnyOrder(1, 2);
    }
}
