package io.qlorastream.schemas.registry.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.qlorastream.schemas.contract.Topic;
import io.qlorastream.schemas.registry.CompatibilityLevel;
import io.qlorastream.schemas.registry.RegistryException;
import io.qlorastream.schemas.registry.SchemaRegistryClient;
import org.apache.kafka.clients.CommonClientConfigs;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Confluent-compatible Schema Registry (Avro schemas only) for development and tests: the REST API of Confluent's
 * registry with its status and error codes, its state in the compacted topic {@code _schemas} of a Kafka cluster,
 * exactly as Confluent stores it (see {@link KafkaSchemaStore}), so it survives restarts.
 *
 * <p>The HTTP side uses the JDK's own {@code com.sun.net.httpserver}: a handful of JSON endpoints need no web
 * framework, and the JDK server keeps the fat jar free of one. Deployments use Confluent's registry instead.
 */
public final class EmbeddedSchemaRegistry implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EmbeddedSchemaRegistry.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final String DEFAULT_TOPIC = Topic.SCHEMAS.defaultName();

    static {
        // The JDK server writes headers and body separately; with Nagle on, each small answer waits ~40 ms for
        // the client's delayed ACK. Read once by the JDK when its first server is created.
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
    }

    private final String host;
    private final int requestedPort;
    private final String topic;
    private final Map<String, Object> kafkaConfig;
    private final Duration timeout;

    private HttpServer server;
    private ExecutorService executor;
    private KafkaSchemaStore store;

    private EmbeddedSchemaRegistry(Builder b) {
        this.host = b.host;
        this.requestedPort = b.port;
        this.topic = b.topic;
        this.kafkaConfig = Map.copyOf(b.kafkaConfig);
        this.timeout = b.timeout;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Binds the port, rebuilds the state from the topic, then serves; returns once it answers. */
    public synchronized EmbeddedSchemaRegistry start() {
        if (server != null) {
            throw new IllegalStateException("registry already started at " + url());
        }
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getByName(host), requestedPort), 128);
        } catch (BindException e) {
            throw new RegistryStartException("port " + requestedPort + " is already in use on " + host, e);
        } catch (IOException e) {
            throw new RegistryStartException("cannot listen on " + host + ":" + requestedPort + ": " + e.getMessage(), e);
        }
        try {
            store = new KafkaSchemaStore(kafkaConfig, topic, timeout);
        } catch (RuntimeException e) {
            server.stop(0);
            server = null;
            throw new RegistryStartException("schema registry cannot use Kafka topic " + topic + ": " + e.getMessage(), e);
        }
        AtomicInteger n = new AtomicInteger();
        executor = Executors.newFixedThreadPool(16, r -> {
            Thread t = new Thread(r, "schema-registry-http-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
        log.info("schema registry ready at {} (state in topic {})", url(), topic);
        return this;
    }

    /**
     * Fails fast, before anything else starts, when the port is taken: a one-line message naming the port and,
     * when given, the option that chose it.
     */
    public static void requirePortFree(String host, int port, String option) {
        if (port == 0) {
            return;
        }
        try (java.net.ServerSocket s = new java.net.ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getByName(host), port));
        } catch (IOException e) {
            throw new RegistryStartException("port " + port + (option == null ? "" : " (" + option + ")") + " is already in use on " + host, e);
        }
    }

    /** {@code http://127.0.0.1:<port>}. */
    public String url() {
        return "http://" + host + ":" + port();
    }

    public int port() {
        return server == null ? requestedPort : server.getAddress().getPort();
    }

    public String topic() {
        return topic;
    }

    @Override
    public synchronized void close() {
        if (server != null) {
            server.stop(0);
            executor.shutdownNow();
            store.close();
            server = null;
        }
    }

    // ---- HTTP ----

    private static final Pattern SUBJECT_VERSIONS = Pattern.compile("/subjects/([^/]+)/versions");
    private static final Pattern SUBJECT_VERSION = Pattern.compile("/subjects/([^/]+)/versions/([^/]+)");
    private static final Pattern SUBJECT_VERSION_SCHEMA = Pattern.compile("/subjects/([^/]+)/versions/([^/]+)/schema");
    private static final Pattern SUBJECT = Pattern.compile("/subjects/([^/]+)");
    private static final Pattern SCHEMA_ID = Pattern.compile("/schemas/ids/([^/]+)");
    private static final Pattern SCHEMA_ID_SCHEMA = Pattern.compile("/schemas/ids/([^/]+)/schema");
    private static final Pattern SCHEMA_ID_VERSIONS = Pattern.compile("/schemas/ids/([^/]+)/versions");
    private static final Pattern CONFIG_SUBJECT = Pattern.compile("/config/([^/]+)");
    private static final Pattern COMPATIBILITY = Pattern.compile("/compatibility/subjects/([^/]+)/versions/([^/]+)");

    /** An answer: status and a JSON body (or raw text for the /schema endpoints). */
    private record Answer(int status, String body) {
        static Answer ok(Object json) {
            return new Answer(200, JSON.valueToTree(json).toString());
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        Answer answer;
        try {
            answer = route(ex.getRequestMethod(), ex.getRequestURI().getRawPath().replaceAll("/+$", ""), query(ex.getRequestURI().getRawQuery()), ex);
        } catch (RegistryException e) {
            answer = error(e.status(), e.errorCode(), e.getMessage());
        } catch (IOException | IllegalArgumentException e) {
            answer = error(400, 400, "Bad request: " + e.getMessage());
        } catch (RuntimeException e) {
            log.warn("registry request {} {} failed", ex.getRequestMethod(), ex.getRequestURI(), e);
            answer = error(500, 500, "Internal error: " + e);
        }
        byte[] bytes = answer.body().getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", SchemaRegistryClient.CONTENT_TYPE);
        ex.sendResponseHeaders(answer.status(), bytes.length == 0 ? -1 : bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static Answer error(int status, int code, String message) {
        ObjectNode n = JSON.createObjectNode();
        n.put("error_code", code);
        n.put("message", message);
        return new Answer(status, n.toString());
    }

    private Answer route(String method, String path, Map<String, String> q, HttpExchange ex) throws IOException {
        boolean deleted = Boolean.parseBoolean(q.getOrDefault("deleted", "false"));
        boolean permanent = Boolean.parseBoolean(q.getOrDefault("permanent", "false"));
        Matcher m;
        if (path.isEmpty()) {
            return Answer.ok(Map.of());
        }
        if (path.equals("/subjects")) {
            return method.equals("GET") ? Answer.ok(store.subjects(deleted)) : notAllowed(method, path);
        }
        if ((m = SUBJECT_VERSION_SCHEMA.matcher(path)).matches() && method.equals("GET")) {
            return new Answer(200, store.version(dec(m.group(1)), dec(m.group(2)), deleted).schema());
        }
        if ((m = SUBJECT_VERSIONS.matcher(path)).matches()) {
            String subject = dec(m.group(1));
            return switch (method) {
                case "GET" -> {
                    List<Integer> versions = store.versions(subject, deleted);
                    if (versions.isEmpty()) {
                        throw new RegistryException.SubjectNotFoundException("Subject '" + subject + "' not found.");
                    }
                    yield Answer.ok(versions);
                }
                case "POST" -> Answer.ok(Map.of("id", store.register(subject, schemaOf(body(ex)))));
                default -> notAllowed(method, path);
            };
        }
        if ((m = SUBJECT_VERSION.matcher(path)).matches()) {
            String subject = dec(m.group(1));
            String version = dec(m.group(2));
            return switch (method) {
                case "GET" -> Answer.ok(registered(store.version(subject, version, deleted)));
                case "DELETE" -> Answer.ok(store.deleteVersion(subject, version, permanent));
                default -> notAllowed(method, path);
            };
        }
        if ((m = SUBJECT.matcher(path)).matches()) {
            String subject = dec(m.group(1));
            return switch (method) {
                case "POST" -> Answer.ok(registered(store.lookup(subject, schemaOf(body(ex)), deleted)));
                case "DELETE" -> Answer.ok(store.deleteSubject(subject, permanent));
                default -> notAllowed(method, path);
            };
        }
        if ((m = SCHEMA_ID_SCHEMA.matcher(path)).matches() && method.equals("GET")) {
            return new Answer(200, store.schemaById(schemaId(m.group(1))));
        }
        if ((m = SCHEMA_ID_VERSIONS.matcher(path)).matches() && method.equals("GET")) {
            ArrayNode out = JSON.createArrayNode();
            store.subjectVersionsOfId(schemaId(m.group(1))).forEach(e -> out.addObject().put("subject", e.subject()).put("version", e.version()));
            return new Answer(200, out.toString());
        }
        if ((m = SCHEMA_ID.matcher(path)).matches()) {
            return method.equals("GET") ? Answer.ok(Map.of("schema", store.schemaById(schemaId(m.group(1))))) : notAllowed(method, path);
        }
        if (path.equals("/schemas/types")) {
            return Answer.ok(List.of("AVRO"));
        }
        if (path.equals("/config")) {
            return switch (method) {
                case "GET" -> Answer.ok(Map.of("compatibilityLevel", store.globalLevel().name()));
                case "PUT" -> {
                    CompatibilityLevel level = levelOf(body(ex));
                    store.setLevel(null, level);
                    yield Answer.ok(Map.of("compatibility", level.name()));
                }
                default -> notAllowed(method, path);
            };
        }
        if ((m = CONFIG_SUBJECT.matcher(path)).matches()) {
            String subject = dec(m.group(1));
            return switch (method) {
                case "GET" -> {
                    CompatibilityLevel own = store.subjectLevel(subject);
                    if (own == null && Boolean.parseBoolean(q.getOrDefault("defaultToGlobal", "false"))) {
                        own = store.globalLevel();
                    }
                    if (own == null) {
                        throw new RegistryException(404, RegistryException.SUBJECT_LEVEL_COMPATIBILITY_NOT_CONFIGURED,
                                "Subject '" + subject + "' does not have subject-level compatibility configured");
                    }
                    yield Answer.ok(Map.of("compatibilityLevel", own.name()));
                }
                case "PUT" -> {
                    CompatibilityLevel level = levelOf(body(ex));
                    store.setLevel(subject, level);
                    yield Answer.ok(Map.of("compatibility", level.name()));
                }
                case "DELETE" -> {
                    CompatibilityLevel own = store.subjectLevel(subject);
                    if (own == null) {
                        throw new RegistryException(404, RegistryException.SUBJECT_LEVEL_COMPATIBILITY_NOT_CONFIGURED,
                                "Subject '" + subject + "' does not have subject-level compatibility configured");
                    }
                    store.setLevel(subject, null);
                    yield Answer.ok(Map.of("compatibilityLevel", own.name()));
                }
                default -> notAllowed(method, path);
            };
        }
        if ((m = COMPATIBILITY.matcher(path)).matches()) {
            if (!method.equals("POST")) {
                return notAllowed(method, path);
            }
            String subject = dec(m.group(1));
            String version = dec(m.group(2));
            List<String> problems = store.compatibilityProblems(subject, version, schemaOf(body(ex)));
            Map<String, Object> out = new HashMap<>();
            out.put("is_compatible", problems.isEmpty());
            if (Boolean.parseBoolean(q.getOrDefault("verbose", "false"))) {
                out.put("messages", problems);
            }
            return Answer.ok(out);
        }
        if (path.equals("/mode")) {
            return Answer.ok(Map.of("mode", "READWRITE"));
        }
        return error(404, 404, "HTTP 404 Not Found: " + method + " " + path);
    }

    private static Answer notAllowed(String method, String path) {
        return error(405, 405, "HTTP 405 Method Not Allowed: " + method + " " + path);
    }

    private static Map<String, Object> registered(KafkaSchemaStore.Entry e) {
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        out.put("subject", e.subject());
        out.put("version", e.version());
        out.put("id", e.id());
        out.put("schema", e.schema());
        return out;
    }

    /** The schema text of a registration body; only Avro without references is served here. */
    private static String schemaOf(JsonNode body) {
        String type = body.path("schemaType").asText("AVRO");
        if (!type.equals("AVRO")) {
            throw new RegistryException.InvalidSchemaException("Invalid schema: schemaType " + type
                    + " is not supported by the embedded registry (AVRO only)");
        }
        if (body.has("references") && body.get("references").size() > 0) {
            throw new RegistryException.InvalidSchemaException("Invalid schema: schema references are not supported by the embedded registry");
        }
        JsonNode schema = body.get("schema");
        if (schema == null || !schema.isTextual()) {
            throw new RegistryException.InvalidSchemaException("Invalid schema: the body has no \"schema\" string");
        }
        return schema.asText();
    }

    private static CompatibilityLevel levelOf(JsonNode body) {
        JsonNode level = body.get("compatibility");
        return CompatibilityLevel.parse(level == null ? null : level.asText());
    }

    private static int schemaId(String text) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new RegistryException.SchemaNotFoundException("Schema " + text + " not found");
        }
    }

    private static JsonNode body(HttpExchange ex) throws IOException {
        try (InputStream in = ex.getRequestBody()) {
            byte[] bytes = in.readAllBytes();
            if (bytes.length == 0) {
                throw new IllegalArgumentException("empty request body");
            }
            JsonNode n = JSON.readTree(bytes);
            if (n == null || !n.isObject()) {
                throw new IllegalArgumentException("the request body is not a JSON object");
            }
            return n;
        }
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> out = new HashMap<>();
        if (raw != null) {
            for (String kv : raw.split("&")) {
                int eq = kv.indexOf('=');
                out.put(dec(eq < 0 ? kv : kv.substring(0, eq)), eq < 0 ? "" : dec(kv.substring(eq + 1)));
            }
        }
        return out;
    }

    private static String dec(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    /** Settings of an embedded registry. */
    public static final class Builder {
        private String host = "127.0.0.1";
        private int port = 8081;
        private String topic = DEFAULT_TOPIC;
        private final Map<String, Object> kafkaConfig = new HashMap<>();
        private Duration timeout = Duration.ofSeconds(30);

        /** The Kafka cluster that holds the registry's topic. */
        public Builder bootstrapServers(String bootstrapServers) {
            kafkaConfig.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
            return this;
        }

        /** Further Kafka client settings (security...), used by the store's producer, consumer and admin. */
        public Builder kafkaConfig(Map<String, ?> config) {
            kafkaConfig.putAll(config);
            return this;
        }

        /** HTTP port; 0 picks a free one. Default 8081, Confluent's. */
        public Builder port(int port) {
            this.port = port;
            return this;
        }

        public Builder host(String host) {
            this.host = host;
            return this;
        }

        /** The compacted topic holding the state (Confluent's {@code kafkastore.topic}); default {@code _schemas}. */
        public Builder topic(String topic) {
            this.topic = topic;
            return this;
        }

        /** How long a write waits for Kafka and for its own read-back. */
        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        public EmbeddedSchemaRegistry build() {
            if (!kafkaConfig.containsKey(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG)) {
                throw new IllegalArgumentException("the embedded registry needs bootstrapServers");
            }
            return new EmbeddedSchemaRegistry(this);
        }
    }
}
