package io.qlorastream.store;

import java.net.URI;
import java.util.Locale;
import java.util.function.Function;

/**
 * How to reach an S3-compatible store.
 *
 * @param endpoint        endpoint override (MinIO, Ceph, S3Proxy, ...); {@code null}: AWS's own endpoint for the region
 * @param region          signing region; {@code null}: the AWS default region chain, else {@code us-east-1}
 * @param pathStyle       {@code http://host/bucket/key} instead of {@code http://bucket.host/key}; most
 *                        S3-compatible stores want it
 * @param accessKeyId     explicit credentials; {@code null} (with secretAccessKey) for the AWS default chain
 *                        (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, aws.accessKeyId, profile, instance role, ...)
 * @param secretAccessKey the secret of accessKeyId
 */
public record S3Settings(URI endpoint, String region, boolean pathStyle, String accessKeyId, String secretAccessKey) {

    public static final String ENDPOINT_VARIABLE = "QLORA_STREAM_S3_ENDPOINT";
    public static final String REGION_VARIABLE = "QLORA_STREAM_S3_REGION";
    public static final String PATH_STYLE_VARIABLE = "QLORA_STREAM_S3_PATH_STYLE";

    public S3Settings {
        if ((accessKeyId == null) != (secretAccessKey == null)) {
            throw new IllegalArgumentException("S3 credentials need both an access key id and a secret access key");
        }
    }

    /** AWS defaults: no endpoint override, region and credentials from the AWS default chains, virtual-host style. */
    public static S3Settings defaults() {
        return new S3Settings(null, null, false, null, null);
    }

    /**
     * Settings from {@value #ENDPOINT_VARIABLE}, {@value #REGION_VARIABLE} and {@value #PATH_STYLE_VARIABLE}
     * (true/false), each read as a system property first, then as an environment variable; credentials from the AWS
     * default chain.
     */
    public static S3Settings fromEnvironment() {
        return from(name -> {
            String value = System.getProperty(name);
            return value != null ? value : System.getenv(name);
        });
    }

    /** As {@link #fromEnvironment()}, reading the variables through {@code lookup}. */
    public static S3Settings from(Function<String, String> lookup) {
        String endpoint = blankToNull(lookup.apply(ENDPOINT_VARIABLE));
        String region = blankToNull(lookup.apply(REGION_VARIABLE));
        String pathStyle = blankToNull(lookup.apply(PATH_STYLE_VARIABLE));
        boolean path = false;
        if (pathStyle != null) {
            switch (pathStyle.toLowerCase(Locale.ROOT)) {
                case "true", "1", "yes" -> path = true;
                case "false", "0", "no" -> path = false;
                default -> throw new IllegalArgumentException(
                        PATH_STYLE_VARIABLE + " must be true or false, not " + pathStyle);
            }
        }
        return new S3Settings(endpoint == null ? null : URI.create(endpoint), region, path, null, null);
    }

    /** The same settings with explicit credentials. */
    public S3Settings withCredentials(String accessKeyId, String secretAccessKey) {
        return new S3Settings(endpoint, region, pathStyle, accessKeyId, secretAccessKey);
    }

    @Override
    public String toString() {
        return "S3Settings[endpoint=" + endpoint + ", region=" + region + ", pathStyle=" + pathStyle
                + ", credentials=" + (accessKeyId == null ? "default chain" : accessKeyId + "/****") + "]";
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value.trim();
    }
}
