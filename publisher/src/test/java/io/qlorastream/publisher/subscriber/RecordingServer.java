package io.qlorastream.publisher.subscriber;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An inference server's runtime LoRA API as vLLM or SGLang answer it, keeping which names are loaded from which path
 * and recording every call: vLLM answers 200 {@code Success: ...} or 400 with its JSON error ({@code "has already been
 * loaded"}, {@code "cannot be found"}), and loads in place with {@code load_inplace} unless made without it; SGLang
 * answers {@code {"success": ..., "error_message": ...}}, 400 on failure. It can refuse (500) the next N loads, and be
 * stopped and started again on the same port (connection refused meanwhile).
 */
public final class RecordingServer implements AutoCloseable {
    public enum Kind { VLLM, VLLM_WITHOUT_INPLACE, SGLANG }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Kind kind;
    private final List<String> calls = new ArrayList<>();
    private final Map<String, String> loaded = new LinkedHashMap<>(); // name -> path
    private int refuseLoads;
    private int port;
    private HttpServer server;

    public RecordingServer(Kind kind) throws IOException {
        this.kind = kind;
        start();
    }

    public synchronized void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        port = server.getAddress().getPort();
        server.createContext("/", this::handle);
        server.start();
    }

    /** Down: connections are refused until {@link #start}. */
    public synchronized void stop() {
        server.stop(0);
    }

    public URI url() {
        return URI.create("http://127.0.0.1:" + port);
    }

    public synchronized void refuseNextLoads(int n) {
        refuseLoads = n;
    }

    public synchronized List<String> calls() {
        return List.copyOf(calls);
    }

    /** What is loaded now: name -> path. */
    public synchronized Map<String, String> loaded() {
        return Map.copyOf(loaded);
    }

    private void handle(HttpExchange ex) throws IOException {
        String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        String path = ex.getRequestURI().getPath();
        int status;
        String answer;
        synchronized (this) {
            calls.add(path + " " + body);
            JsonNode req = JSON.readTree(body);
            String name = req.path("lora_name").asText();
            boolean vllm = kind != Kind.SGLANG;
            if (path.endsWith("/load_lora_adapter") && refuseLoads > 0) {
                refuseLoads--;
                status = 500;
                answer = vllm ? error("Internal Server Error", 500) : sglang(false, "CUDA out of memory");
            } else if (path.equals(vllm ? "/v1/load_lora_adapter" : "/load_lora_adapter")) {
                boolean inplace = kind == Kind.VLLM && req.path("load_inplace").asBoolean(false);
                if (loaded.containsKey(name) && !inplace) {
                    status = 400;
                    answer = vllm ? error("The lora adapter '" + name + "' has already been loaded.", 400)
                            : sglang(false, "The LoRA adapter name " + name + " is already loaded.");
                } else {
                    loaded.put(name, req.path("lora_path").asText());
                    status = 200;
                    answer = vllm ? "Success: LoRA adapter '" + name + "' added successfully." : sglang(true, "");
                }
            } else if (path.equals(vllm ? "/v1/unload_lora_adapter" : "/unload_lora_adapter")) {
                if (loaded.remove(name) == null) {
                    status = 400;
                    answer = vllm ? error("The lora adapter '" + name + "' cannot be found.", 400)
                            : sglang(false, "LoRA adapter " + name + " is not loaded.");
                } else {
                    status = 200;
                    answer = vllm ? "Success: LoRA adapter '" + name + "' removed successfully." : sglang(true, "");
                }
            } else {
                status = 404;
                answer = "{\"detail\":\"Not Found\"}";
            }
        }
        byte[] b = answer.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
        ex.close();
    }

    /** vLLM's ErrorResponse. */
    private static String error(String message, int code) {
        return "{\"object\":\"error\",\"message\":\"" + message + "\",\"type\":\"InvalidUserInput\",\"param\":null,\"code\":" + code + "}";
    }

    private static String sglang(boolean success, String message) {
        return "{\"success\":" + success + ",\"error_message\":\"" + message + "\",\"loaded_adapters\":{}}";
    }

    @Override
    public void close() {
        stop();
    }
}
