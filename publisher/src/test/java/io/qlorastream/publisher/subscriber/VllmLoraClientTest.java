package io.qlorastream.publisher.subscriber;

import com.sun.net.httpserver.HttpServer;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.events.LoraConfig;
import io.qlorastream.events.ReleaseKind;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/** vLLM's runtime LoRA API as the client calls it, against a local HTTP server that records each call. */
class VllmLoraClientTest {
    private final List<String> calls = new CopyOnWriteArrayList<>();
    private volatile int loadStatus = 200;
    private HttpServer server;
    private VllmLoraClient client;

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            String path = ex.getRequestURI().getPath();
            calls.add(ex.getRequestMethod() + " " + path + " " + ex.getRequestHeaders().getFirst("Content-Type") + " "
                    + new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            int status = path.endsWith("/load_lora_adapter") ? loadStatus : 200;
            byte[] body = (status == 200 ? "Success" : "{\"error\":\"boom\"}").getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(status, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        server.start();
        // A base URL with a path prefix (a proxy in front of vLLM) is kept.
        client = new VllmLoraClient(URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/vllm/"));
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private static AdapterRelease release(int version) {
        return AdapterRelease.newBuilder().setAdapterName("support").setVersion(version).setKind(ReleaseKind.RELEASE).setSnapshotId("s")
                .setEvaluationId("e").setArtifactUri("u").setArtifactSha256(Map.of()).setSignature("x").setPublicKeyId("k").setPublicKey("p")
                .setBaseModelName("b").setBaseModelHash("h")
                .setLoraConfig(LoraConfig.newBuilder().setR(1).setLoraAlpha(1).setTargetModules(List.of()).build())
                .setMetrics(Map.of()).setReleasedAt(Instant.now()).build();
    }

    private static Path adapterDir(Path root, int version, String config) throws Exception {
        Path d = Files.createDirectories(root.resolve("support/v" + version));
        Files.writeString(d.resolve("adapter_config.json"), config);
        return d;
    }

    @Test
    void loadsTheNewVersionThenUnloadsTheOneItReplaced(@TempDir Path root) throws Exception {
        Path v2 = adapterDir(root, 2, "{\"peft_type\":\"LORA\",\"use_dora\":false,\"modules_to_save\":null}");
        client.installed(release(2), v2, 1);
        assertThat(calls).containsExactly(
                "POST /vllm/v1/load_lora_adapter application/json {\"lora_name\":\"support-v2\",\"lora_path\":\"" + v2.toAbsolutePath() + "\"}",
                "POST /vllm/v1/unload_lora_adapter application/json {\"lora_name\":\"support-v1\"}");
    }

    @Test
    void aFailedLoadKeepsTheReplacedVersionLoaded(@TempDir Path root) throws Exception {
        loadStatus = 500;
        client.installed(release(2), adapterDir(root, 2, "{\"use_dora\":false}"), 1);
        assertThat(calls).hasSize(1).allMatch(c -> c.contains("/load_lora_adapter"));
    }

    @Test
    void theFirstVersionUnloadsNothingAndWhatVllmRejectsIsNotSent(@TempDir Path root) throws Exception {
        client.installed(release(1), adapterDir(root, 1, "{\"use_dora\":false,\"modules_to_save\":[]}"), null);
        assertThat(calls).hasSize(1);
        client.installed(release(2), adapterDir(root, 2, "{\"use_dora\":true}"), 1);
        client.installed(release(3), adapterDir(root, 3, "{\"modules_to_save\":[\"lm_head\"]}"), 1);
        assertThat(calls).hasSize(1);
    }
}
