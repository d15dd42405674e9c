package io.qlorastream.publisher.subscriber;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.publisher.CanonicalJson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Serves each installed release from a running vLLM server through its runtime LoRA API (the server started with
 * {@code --enable-lora} and {@code VLLM_ALLOW_RUNTIME_LORA_UPDATING=True}, on a machine that sees the subscriber's
 * directory): {@code POST /v1/load_lora_adapter {"lora_name": "<adapter>-v<N>", "lora_path": "<dir>/<adapter>/v<N>"}},
 * and once that succeeded {@code POST /v1/unload_lora_adapter {"lora_name": "<adapter>-v<M>"}} for the version it
 * replaces, so there is no moment without a loaded version. Each version has its own name because vLLM refuses to load
 * a name twice; clients address {@code <adapter>-v<N>} as the model. A failed call is logged and leaves the replaced
 * version loaded. An adapter vLLM would reject (DoRA, non-empty {@code modules_to_save}) is not sent at all.
 */
public final class VllmLoraClient implements ReleaseListener {
    private static final Logger LOG = LoggerFactory.getLogger(VllmLoraClient.class);

    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI base;
    private final HttpClient http;

    public VllmLoraClient(URI base) {
        this.base = base;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** The name vLLM serves a version under. */
    public static String loraName(String adapter, int version) {
        return adapter + "-v" + version;
    }

    @Override
    public void installed(AdapterRelease release, Path versionDir, Integer replacedVersion) {
        String name = loraName(release.getAdapterName(), release.getVersion());
        String unsupported = unsupportedByVllm(versionDir);
        if (unsupported != null) {
            LOG.warn("not loading {} into vLLM: {}", name, unsupported);
            return;
        }
        boolean loaded = post("/v1/load_lora_adapter", Map.of("lora_name", name, "lora_path", versionDir.toAbsolutePath().toString()));
        if (loaded && replacedVersion != null && replacedVersion != release.getVersion()) {
            post("/v1/unload_lora_adapter", Map.of("lora_name", loraName(release.getAdapterName(), replacedVersion)));
        }
    }

    /** Why vLLM would refuse the adapter (it rejects DoRA and non-empty modules_to_save), or null. */
    static String unsupportedByVllm(Path versionDir) {
        try {
            JsonNode c = JSON.readTree(versionDir.resolve("adapter_config.json").toFile());
            if (c.path("use_dora").asBoolean(false)) {
                return "it is a DoRA adapter (use_dora), which vLLM does not serve";
            }
            JsonNode m = c.path("modules_to_save");
            if (m.isArray() && m.size() > 0) {
                return "modules_to_save " + m + " is not empty, which vLLM does not serve";
            }
            return null;
        } catch (IOException e) {
            return "adapter_config.json unreadable: " + e.getMessage();
        }
    }

    /** True on a 2xx answer. */
    private boolean post(String path, Map<String, Object> body) {
        String json = CanonicalJson.string(body);
        URI uri = URI.create(base.toString().replaceAll("/+$", "") + path); // keeps a path prefix of the base URL
        try {
            HttpResponse<String> resp = http.send(HttpRequest.newBuilder(uri)
                    .timeout(Duration.ofSeconds(120)) // loading an adapter onto the GPU can take a while
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
            if (resp.statusCode() / 100 == 2) {
                LOG.info("vLLM {} {}: {}", path, json, resp.statusCode());
                return true;
            }
            LOG.warn("vLLM {} {} answered {}: {}", path, json, resp.statusCode(), resp.body().replaceAll("\\s+", " "));
            return false;
        } catch (IOException e) {
            LOG.warn("vLLM {} {} failed: {}", uri, json, e.toString());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
