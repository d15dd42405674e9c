package io.qlorastream.publisher.subscriber;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.events.AdapterRelease;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * SGLang's runtime LoRA API (server started with {@code --enable-lora}): {@code POST /load_lora_adapter
 * {"lora_name": "<adapter>-v<N>", "lora_path"}}, then, once that succeeded, {@code POST /unload_lora_adapter
 * {"lora_name"}} of the replaced version. SGLang answers {@code {"success": bool, "error_message": ...}} (400 on
 * failure); a version that is already loaded is served, one already unloaded is gone, so a switch is safe to retry.
 */
public final class SglangTarget implements ServingTarget {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final JsonPost server;

    public SglangTarget(URI base) {
        this.server = new JsonPost(base);
    }

    @Override
    public String name() {
        return "sglang";
    }

    @Override
    public void switchTo(AdapterRelease r, Path versionDir, Integer replacedVersion) throws IOException, InterruptedException {
        String name = VllmTarget.loraName(r.getAdapterName(), r.getVersion());
        String err = call("/load_lora_adapter", Map.of("lora_name", name, "lora_path", versionDir.toAbsolutePath().toString()));
        if (err != null && !err.toLowerCase(Locale.ROOT).contains("already")) {
            throw new IOException("SGLang /load_lora_adapter of " + name + " failed: " + err);
        }
        if (replacedVersion != null && replacedVersion != r.getVersion()) {
            String old = VllmTarget.loraName(r.getAdapterName(), replacedVersion);
            err = call("/unload_lora_adapter", Map.of("lora_name", old));
            if (err != null && !err.toLowerCase(Locale.ROOT).matches(".*(not loaded|not found|does not exist).*")) {
                throw new IOException("SGLang /unload_lora_adapter of " + old + " failed: " + err);
            }
        }
    }

    /** Null on success, else the server's error (its error_message, or the status and body). */
    private String call(String path, Map<String, Object> body) throws IOException, InterruptedException {
        JsonPost.Answer a = server.post(path, body);
        JsonNode json;
        try {
            json = JSON.readTree(a.body());
        } catch (IOException e) {
            json = null;
        }
        if (json != null && json.has("success")) {
            return json.path("success").asBoolean(false) ? null : a.status() + " " + json.path("error_message").asText("");
        }
        return a.ok() ? null : a.describe();
    }
}
