package io.qlorastream.schemas.registry;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * Registry client settings, read from the keys Confluent's clients use, so one properties file serves both:
 * {@code schema.registry.url} (comma-separated, tried in turn), {@code basic.auth.credentials.source}
 * (URL or USER_INFO), {@code basic.auth.user.info}, {@code schema.registry.ssl.*}, {@code max.retries},
 * {@code retries.wait.ms}, {@code retries.max.wait.ms}, {@code http.connect.timeout.ms}, {@code http.read.timeout.ms},
 * {@code missing.id.cache.ttl.sec}.
 */
public final class RegistryClientConfig {
    public static final String URL = "schema.registry.url";
    public static final String CREDENTIALS_SOURCE = "basic.auth.credentials.source";
    public static final String USER_INFO = "basic.auth.user.info";
    public static final String SSL_PREFIX = "schema.registry.ssl.";
    public static final String TRUSTSTORE_LOCATION = SSL_PREFIX + "truststore.location";
    public static final String TRUSTSTORE_PASSWORD = SSL_PREFIX + "truststore.password";
    public static final String TRUSTSTORE_TYPE = SSL_PREFIX + "truststore.type";
    public static final String KEYSTORE_LOCATION = SSL_PREFIX + "keystore.location";
    public static final String KEYSTORE_PASSWORD = SSL_PREFIX + "keystore.password";
    public static final String KEYSTORE_TYPE = SSL_PREFIX + "keystore.type";
    public static final String KEY_PASSWORD = SSL_PREFIX + "key.password";
    public static final String SSL_PROTOCOL = SSL_PREFIX + "protocol";
    public static final String MAX_RETRIES = "max.retries";
    public static final String RETRIES_WAIT_MS = "retries.wait.ms";
    public static final String RETRIES_MAX_WAIT_MS = "retries.max.wait.ms";
    public static final String CONNECT_TIMEOUT_MS = "http.connect.timeout.ms";
    public static final String READ_TIMEOUT_MS = "http.read.timeout.ms";
    /**
     * How long an id the registry answered "not found" is remembered as missing (Confluent's key). Confluent's default
     * is 0; ours is 5 s: a stream of records naming one unknown id (a misconfigured producer, a corrupt partition) would
     * otherwise cost one registry round trip per record and stall every consumer that reads it, while a registry
     * replica that has not yet seen a new id catches up well within seconds. 0 turns it off.
     */
    public static final String MISSING_ID_CACHE_TTL_SEC = "missing.id.cache.ttl.sec";

    final List<URI> urls;
    final String authorization; // "Basic ..." or null
    final SSLContext sslContext; // null: the JDK default
    final int maxRetries;
    final Duration retryWait;
    final Duration retryMaxWait;
    final Duration connectTimeout;
    final Duration readTimeout;
    final Duration missingIdCacheTtl;

    private RegistryClientConfig(Map<String, ?> configs) {
        String url = string(configs, URL, null);
        if (url == null || url.isBlank()) {
            throw new IllegalArgumentException("missing " + URL);
        }
        List<URI> list = new ArrayList<>();
        String userInfoFromUrl = null;
        for (String u : url.split(",")) {
            URI uri;
            try {
                uri = URI.create(u.trim().replaceAll("/+$", ""));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(URL + ": not a URL: " + u.trim(), e);
            }
            if (uri.getScheme() == null || !(uri.getScheme().equals("http") || uri.getScheme().equals("https")) || uri.getHost() == null) {
                throw new IllegalArgumentException(URL + ": not an http(s) URL: " + u.trim());
            }
            if (uri.getUserInfo() != null) {
                userInfoFromUrl = uri.getUserInfo();
                uri = URI.create(uri.getScheme() + "://" + uri.getHost() + (uri.getPort() < 0 ? "" : ":" + uri.getPort())
                        + (uri.getRawPath() == null ? "" : uri.getRawPath()));
            }
            list.add(uri);
        }
        urls = List.copyOf(list);
        String source = string(configs, CREDENTIALS_SOURCE, string(configs, "schema.registry." + CREDENTIALS_SOURCE, "URL"));
        String userInfo = switch (source.toUpperCase(java.util.Locale.ROOT)) {
            case "URL" -> userInfoFromUrl;
            case "USER_INFO" -> {
                String ui = string(configs, USER_INFO, string(configs, "schema.registry." + USER_INFO, null));
                if (ui == null || !ui.contains(":")) {
                    throw new IllegalArgumentException(USER_INFO + " must be user:password when " + CREDENTIALS_SOURCE + "=USER_INFO");
                }
                yield ui;
            }
            default -> throw new IllegalArgumentException(CREDENTIALS_SOURCE + ": unsupported value " + source + " (URL or USER_INFO)");
        };
        authorization = userInfo == null ? null
                : "Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        sslContext = sslContext(configs);
        maxRetries = integer(configs, MAX_RETRIES, 3);
        retryWait = Duration.ofMillis(integer(configs, RETRIES_WAIT_MS, 200));
        retryMaxWait = Duration.ofMillis(integer(configs, RETRIES_MAX_WAIT_MS, 20_000));
        connectTimeout = Duration.ofMillis(integer(configs, CONNECT_TIMEOUT_MS, 60_000));
        readTimeout = Duration.ofMillis(integer(configs, READ_TIMEOUT_MS, 60_000));
        int missingTtl = integer(configs, MISSING_ID_CACHE_TTL_SEC, 5);
        if (missingTtl < 0) {
            throw new IllegalArgumentException(MISSING_ID_CACHE_TTL_SEC + " must be 0 or more seconds, got " + missingTtl);
        }
        missingIdCacheTtl = Duration.ofSeconds(missingTtl);
    }

    public static RegistryClientConfig from(Map<String, ?> configs) {
        return new RegistryClientConfig(configs);
    }

    public List<URI> urls() {
        return urls;
    }

    private static SSLContext sslContext(Map<String, ?> configs) {
        String trustLocation = string(configs, TRUSTSTORE_LOCATION, null);
        String keyLocation = string(configs, KEYSTORE_LOCATION, null);
        if (trustLocation == null && keyLocation == null) {
            return null;
        }
        try {
            TrustManagerFactory tmf = null;
            if (trustLocation != null) {
                KeyStore ts = load(trustLocation, string(configs, TRUSTSTORE_TYPE, "JKS"), string(configs, TRUSTSTORE_PASSWORD, null), TRUSTSTORE_LOCATION);
                tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(ts);
            }
            KeyManagerFactory kmf = null;
            if (keyLocation != null) {
                String storePassword = string(configs, KEYSTORE_PASSWORD, null);
                KeyStore ks = load(keyLocation, string(configs, KEYSTORE_TYPE, "JKS"), storePassword, KEYSTORE_LOCATION);
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                String keyPassword = string(configs, KEY_PASSWORD, storePassword);
                kmf.init(ks, keyPassword == null ? null : keyPassword.toCharArray());
            }
            SSLContext ctx = SSLContext.getInstance(string(configs, SSL_PROTOCOL, "TLS"));
            ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), null);
            return ctx;
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalArgumentException("schema registry TLS settings: " + e.getMessage(), e);
        }
    }

    private static KeyStore load(String location, String type, String password, String key) throws Exception {
        Path path = Path.of(location);
        if (!Files.isRegularFile(path)) {
            throw new IllegalArgumentException(key + ": no such file: " + location);
        }
        KeyStore ks = KeyStore.getInstance(type);
        try (InputStream in = Files.newInputStream(path)) {
            ks.load(in, password == null ? null : password.toCharArray());
        }
        return ks;
    }

    static String string(Map<String, ?> configs, String key, String dflt) {
        Object v = configs.get(key);
        if (v == null) {
            return dflt;
        }
        if (v instanceof org.apache.kafka.common.config.types.Password p) {
            return p.value();
        }
        return v.toString();
    }

    static int integer(Map<String, ?> configs, String key, int dflt) {
        String v = string(configs, key, null);
        if (v == null) {
            return dflt;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + ": not an integer: " + v);
        }
    }
}
