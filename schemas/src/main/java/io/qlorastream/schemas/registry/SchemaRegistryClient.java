package io.qlorastream.schemas.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.avro.Schema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A client of the Confluent Schema Registry REST API ({@code application/vnd.schemaregistry.v1+json}), written by
 * hand on {@link HttpClient} and Jackson because Confluent's Java client is not on Maven Central. It works
 * unchanged against Confluent's registry and our {@code EmbeddedSchemaRegistry}.
 *
 * <p>Schemas by id and ids by (subject, schema) are cached forever (both are immutable in a registry). Requests
 * that fail with a 5xx answer or an I/O error are retried with exponential backoff ({@code max.retries},
 * {@code retries.wait.ms}, {@code retries.max.wait.ms}), trying the next URL of {@code schema.registry.url} each
 * time. Error answers become typed {@link RegistryException}s.
 */
public final class SchemaRegistryClient implements AutoCloseable {
    public static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
    private static final String ACCEPT = CONTENT_TYPE + ", application/vnd.schemaregistry+json; qs=0.9, application/json; qs=0.5";
    private static final Logger log = LoggerFactory.getLogger(SchemaRegistryClient.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final RegistryClientConfig config;
    private final HttpClient http;
    private final Map<Integer, Schema> schemasById = new ConcurrentHashMap<>();
    /** Ids the registry answered "schema not found" for, with when that answer expires (nanoTime); bounded. */
    private final Map<Integer, MissingId> missingIds = new ConcurrentHashMap<>();
    private static final int MISSING_IDS_MAX = 10_000;

    private record MissingId(long expiresAtNanos, int status, int errorCode, String message) {
    }
    private final Map<String, Map<String, Integer>> idsBySubject = new ConcurrentHashMap<>();
    /** The same ids keyed by the Schema instance: a serializer asks once per record, and {@code Schema.toString()}
     * (the key above) renders the whole schema as JSON each time, while a generated class hands over the same
     * instance every time. By identity, not {@code Schema.equals}, which ignores docs that the registry does not. */
    private final Map<String, Map<SchemaInstance, Integer>> idsBySchema = new ConcurrentHashMap<>();

    private record SchemaInstance(Schema schema) {
        @Override
        public boolean equals(Object o) {
            return o instanceof SchemaInstance other && other.schema == schema;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(schema);
        }
    }

    public SchemaRegistryClient(RegistryClientConfig config) {
        this.config = config;
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(config.connectTimeout).version(HttpClient.Version.HTTP_1_1);
        if (config.sslContext != null) {
            b.sslContext(config.sslContext);
        }
        this.http = b.build();
    }

    public SchemaRegistryClient(Map<String, ?> configs) {
        this(RegistryClientConfig.from(configs));
    }

    /** A client of one registry URL with default settings. */
    public static SchemaRegistryClient of(String url) {
        return new SchemaRegistryClient(Map.of(RegistryClientConfig.URL, url));
    }

    /** The registry URLs, in the order they are tried. */
    public List<URI> urls() {
        return config.urls();
    }

    // ---- schemas ----

    /** {@code POST /subjects/{s}/versions}: registers (or finds) the schema under the subject; returns its global id. */
    public int register(String subject, Schema schema) {
        Map<SchemaInstance, Integer> bySchema = idsBySchema.computeIfAbsent(subject, s -> new ConcurrentHashMap<>());
        Integer known = bySchema.get(new SchemaInstance(schema));
        if (known != null) {
            return known;
        }
        int id = registerCanonical(subject, schema);
        remember(bySchema, schema, id);
        return id;
    }

    private int registerCanonical(String subject, Schema schema) {
        Map<String, Integer> ids = idsBySubject.computeIfAbsent(subject, s -> new ConcurrentHashMap<>());
        String canonical = schema.toString();
        Integer cached = ids.get(canonical);
        if (cached != null) {
            return cached;
        }
        JsonNode answer = send("POST", "/subjects/" + enc(subject) + "/versions", schemaBody(canonical));
        int id = answer.get("id").asInt();
        ids.put(canonical, id);
        schemasById.putIfAbsent(id, schema);
        return id;
    }

    /** Bounded: a caller that parses a fresh Schema per record would otherwise grow the map forever. */
    private static void remember(Map<SchemaInstance, Integer> bySchema, Schema schema, int id) {
        if (bySchema.size() < 1024) {
            bySchema.put(new SchemaInstance(schema), id);
        }
    }

    /** {@code POST /subjects/{s}}: the registration of this exact schema under the subject, without registering. */
    public RegisteredSchema lookup(String subject, Schema schema) {
        RegisteredSchema r = registered(send("POST", "/subjects/" + enc(subject), schemaBody(schema.toString())));
        idsBySubject.computeIfAbsent(subject, s -> new ConcurrentHashMap<>()).put(schema.toString(), r.id());
        return r;
    }

    /** The id of a schema already under the subject (cached {@link #lookup}). */
    public int idOf(String subject, Schema schema) {
        Map<SchemaInstance, Integer> bySchema = idsBySchema.computeIfAbsent(subject, s -> new ConcurrentHashMap<>());
        Integer known = bySchema.get(new SchemaInstance(schema));
        if (known != null) {
            return known;
        }
        Integer cached = idsBySubject.getOrDefault(subject, Map.of()).get(schema.toString());
        int id = cached != null ? cached : lookup(subject, schema).id();
        remember(bySchema, schema, id);
        return id;
    }

    /** {@code GET /schemas/ids/{id}}: the schema with this global id (cached). */
    public Schema schemaById(int id) {
        Schema cached = schemasById.get(id);
        if (cached != null) {
            return cached;
        }
        MissingId missing = missingIds.get(id);
        if (missing != null) {
            if (System.nanoTime() - missing.expiresAtNanos < 0) {
                throw new RegistryException(missing.status, missing.errorCode, missing.message + " (remembered for "
                        + config.missingIdCacheTtl.toSeconds() + " s, " + RegistryClientConfig.MISSING_ID_CACHE_TTL_SEC + ")");
            }
            missingIds.remove(id, missing);
        }
        JsonNode answer;
        try {
            answer = send("GET", "/schemas/ids/" + id, null);
        } catch (RegistryException e) {
            if (e.errorCode() == RegistryException.SCHEMA_NOT_FOUND && !config.missingIdCacheTtl.isZero()) {
                if (missingIds.size() >= MISSING_IDS_MAX) {
                    missingIds.clear(); // a flood of distinct bad ids: start over rather than grow without bound
                }
                missingIds.put(id, new MissingId(System.nanoTime() + config.missingIdCacheTtl.toNanos(), e.status(),
                        e.errorCode(), e.getMessage()));
            }
            throw e;
        }
        String type = answer.path("schemaType").asText("AVRO");
        if (!type.equals("AVRO")) {
            throw new RegistryException(200, RegistryException.INVALID_SCHEMA, "schema id " + id + " is of type " + type + ", not AVRO");
        }
        Schema schema = new Schema.Parser().parse(answer.get("schema").asText());
        Schema raced = schemasById.putIfAbsent(id, schema);
        return raced == null ? schema : raced;
    }

    /** {@code GET /subjects}. */
    public List<String> subjects() {
        List<String> out = new ArrayList<>();
        send("GET", "/subjects", null).forEach(n -> out.add(n.asText()));
        return out;
    }

    /** {@code GET /subjects/{s}/versions}. */
    public List<Integer> versions(String subject) {
        return ints(send("GET", "/subjects/" + enc(subject) + "/versions", null));
    }

    /** {@code GET /subjects/{s}/versions/{v}}. */
    public RegisteredSchema version(String subject, int version) {
        return registered(send("GET", "/subjects/" + enc(subject) + "/versions/" + version, null));
    }

    /** {@code GET /subjects/{s}/versions/latest}. */
    public RegisteredSchema latest(String subject) {
        return registered(send("GET", "/subjects/" + enc(subject) + "/versions/latest", null));
    }

    /** {@code DELETE /subjects/{s}/versions/{v}[?permanent=true]}: returns the deleted version. */
    public int deleteVersion(String subject, int version, boolean permanent) {
        return send("DELETE", "/subjects/" + enc(subject) + "/versions/" + version + (permanent ? "?permanent=true" : ""), null).asInt();
    }

    /** {@code DELETE /subjects/{s}[?permanent=true]}: returns the deleted versions. */
    public List<Integer> deleteSubject(String subject, boolean permanent) {
        idsBySubject.remove(subject);
        return ints(send("DELETE", "/subjects/" + enc(subject) + (permanent ? "?permanent=true" : ""), null));
    }

    /** {@code POST /compatibility/subjects/{s}/versions/latest}. */
    public boolean isCompatible(String subject, Schema schema) {
        return isCompatible(subject, "latest", schema);
    }

    /** {@code POST /compatibility/subjects/{s}/versions/{v}} with {@code v} a number or "latest". */
    public boolean isCompatible(String subject, String version, Schema schema) {
        return send("POST", "/compatibility/subjects/" + enc(subject) + "/versions/" + enc(version), schemaBody(schema.toString()))
                .get("is_compatible").asBoolean();
    }

    // ---- config ----

    /** {@code GET /config}. */
    public CompatibilityLevel globalCompatibility() {
        return CompatibilityLevel.parse(send("GET", "/config", null).get("compatibilityLevel").asText());
    }

    /** {@code PUT /config}. */
    public CompatibilityLevel setGlobalCompatibility(CompatibilityLevel level) {
        return putConfig("/config", level);
    }

    /** {@code GET /config/{s}}: the subject's own level; {@link RegistryException} 40408 when it has none. */
    public CompatibilityLevel subjectCompatibility(String subject) {
        return CompatibilityLevel.parse(send("GET", "/config/" + enc(subject), null).get("compatibilityLevel").asText());
    }

    /** {@code PUT /config/{s}}. */
    public CompatibilityLevel setSubjectCompatibility(String subject, CompatibilityLevel level) {
        return putConfig("/config/" + enc(subject), level);
    }

    private CompatibilityLevel putConfig(String path, CompatibilityLevel level) {
        ObjectNode body = JSON.createObjectNode().put("compatibility", level.name());
        return CompatibilityLevel.parse(send("PUT", path, body.toString()).get("compatibility").asText());
    }

    // ---- HTTP ----

    private JsonNode send(String method, String path, String body) {
        int attempts = Math.max(0, config.maxRetries) + 1;
        long wait = config.retryWait.toMillis();
        RuntimeException last = null;
        for (int attempt = 0; attempt < attempts; attempt++) {
            URI base = config.urls.get(attempt % config.urls.size());
            URI uri = URI.create(base + path);
            HttpRequest.Builder rb = HttpRequest.newBuilder(uri).timeout(config.readTimeout).header("Accept", ACCEPT);
            if (config.authorization != null) {
                rb.header("Authorization", config.authorization);
            }
            rb.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
            if (body != null) {
                rb.header("Content-Type", CONTENT_TYPE);
            }
            try {
                HttpResponse<String> response = http.send(rb.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
                int status = response.statusCode();
                if (status >= 200 && status < 300) {
                    return JSON.readTree(response.body());
                }
                RegistryException error = errorOf(method, uri, status, response.body());
                if (status < 500) {
                    throw error;
                }
                last = error;
            } catch (IOException e) {
                last = new RegistryException("schema registry " + base + " unreachable (" + method + " " + path + "): " + e, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RegistryException("interrupted while calling schema registry " + uri, e);
            }
            if (attempt + 1 < attempts) {
                log.debug("retrying {} {} in {} ms after: {}", method, path, wait, last.getMessage());
                try {
                    Thread.sleep(wait);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new RegistryException("interrupted while calling schema registry " + uri, e);
                }
                wait = Math.min(wait * 2, config.retryMaxWait.toMillis());
            }
        }
        throw last;
    }

    private static RegistryException errorOf(String method, URI uri, int status, String body) {
        try {
            JsonNode node = JSON.readTree(body);
            if (node != null && node.has("error_code")) {
                return RegistryException.of(status, node.get("error_code").asInt(), node.path("message").asText());
            }
        } catch (IOException ignored) {
            // not JSON: a proxy or a server that is not a registry
        }
        String text = body == null ? "" : body.strip();
        return new RegistryException(status, status, method + " " + uri + " answered HTTP " + status
                + (text.isEmpty() ? "" : ": " + (text.length() > 200 ? text.substring(0, 200) + "..." : text)));
    }

    private static String schemaBody(String schema) {
        return JSON.createObjectNode().put("schema", schema).toString();
    }

    private static RegisteredSchema registered(JsonNode n) {
        return new RegisteredSchema(n.get("subject").asText(), n.get("version").asInt(), n.get("id").asInt(), n.get("schema").asText());
    }

    private static List<Integer> ints(JsonNode array) {
        List<Integer> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asInt()));
        return out;
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    @Override
    public void close() {
        // HttpClient has no close() before Java 21; its threads are daemons and go with it.
    }
}
