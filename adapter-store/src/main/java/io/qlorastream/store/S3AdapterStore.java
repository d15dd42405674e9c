package io.qlorastream.store;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A store under {@code s3://bucket/prefix} on AWS S3 or any S3-compatible store, through the AWS SDK v2 with the
 * JDK's HttpURLConnection client.
 *
 * <p>put uploads each file with its SHA-256 ({@code x-amz-checksum-sha256}, checked by the server) and
 * manifest.json last, so an artifact exists (for {@link #exists}, {@link #fetch}) exactly when its manifest does.
 * S3 has no rename: {@link #list} shows an artifact's prefix as soon as its first file is uploaded, and two writers
 * racing to the same new artifact are not serialized (snapshot ids and release numbers are unique by construction).
 */
final class S3AdapterStore extends BaseAdapterStore {
    private static final Logger log = LoggerFactory.getLogger(S3AdapterStore.class);
    private static final Region FALLBACK_REGION = Region.US_EAST_1;

    private final S3Client s3;
    private final String bucket;
    /** Key prefix without slashes at either end; "" for the bucket root. */
    private final String prefix;

    S3AdapterStore(S3Client s3, String bucket, String prefix) {
        this.s3 = s3;
        this.bucket = bucket;
        this.prefix = prefix;
    }

    static AdapterStore open(URI location, S3Settings settings) {
        String bucket = location.getAuthority();
        if (!"s3".equalsIgnoreCase(location.getScheme()) || bucket == null || bucket.isEmpty()) {
            throw new IllegalArgumentException("not an s3://bucket/prefix location: " + location);
        }
        String prefix = RelativeDirs.normalize(location.getPath() == null ? "" : location.getPath(), true);
        return new S3AdapterStore(clientBuilder(settings).build(), bucket, prefix);
    }

    static S3ClientBuilder clientBuilder(S3Settings settings) {
        S3ClientBuilder builder = S3Client.builder()
                .httpClientBuilder(UrlConnectionHttpClient.builder()
                        .connectionTimeout(Duration.ofSeconds(10))
                        .socketTimeout(Duration.ofSeconds(60)))
                .region(region(settings))
                .credentialsProvider(credentials(settings))
                .forcePathStyle(settings.pathStyle())
                // We send our own SHA-256 with every upload and verify every download ourselves; the SDK's default CRC
                // trailers (aws-chunked) are not understood by every S3-compatible store.
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
        if (settings.endpoint() != null) {
            builder.endpointOverride(settings.endpoint());
        }
        return builder;
    }

    private static Region region(S3Settings settings) {
        if (settings.region() != null) {
            return Region.of(settings.region());
        }
        if (settings.endpoint() != null) {
            // An S3-compatible store ignores the region but SigV4 needs one; asking AWS's chain (which may probe the
            // EC2 metadata service) would only slow the start.
            return FALLBACK_REGION;
        }
        try {
            return DefaultAwsRegionProviderChain.builder().build().getRegion();
        } catch (SdkException e) {
            log.debug("no AWS region configured, using {}", FALLBACK_REGION, e);
            return FALLBACK_REGION;
        }
    }

    private static AwsCredentialsProvider credentials(S3Settings settings) {
        if (settings.accessKeyId() != null) {
            return StaticCredentialsProvider.create(
                    AwsBasicCredentials.create(settings.accessKeyId(), settings.secretAccessKey()));
        }
        return DefaultCredentialsProvider.builder().build();
    }

    @Override
    public URI location() {
        return URI.create("s3://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix));
    }

    @Override
    public StoredArtifact put(String relativeDir, Path localDir) throws IOException {
        String relative = RelativeDirs.normalize(relativeDir, false);
        URI artifact = uriOf(relative);
        Map<String, Path> files = StoreFiles.artifactFiles(localDir);

        Map<String, byte[]> digests = new TreeMap<>();
        Map<String, String> sha256 = new TreeMap<>();
        for (Map.Entry<String, Path> file : files.entrySet()) {
            byte[] digest = StoreFiles.sha256(file.getValue());
            digests.put(file.getKey(), digest);
            sha256.put(file.getKey(), HexFormat.of().formatHex(digest));
        }
        byte[] manifest = new Manifest(sha256).toJson();

        byte[] existing = readIfPresent(key(relative, Manifest.FILE_NAME), artifact);
        if (existing != null) {
            sha256.put(Manifest.FILE_NAME, StoreFiles.sha256Hex(manifest));
            if (Arrays.equals(existing, manifest)) {
                return new StoredArtifact(artifact, sha256);
            }
            throw new FileAlreadyExistsException(artifact.toString(), null,
                    "a different artifact is already stored there; artifacts are immutable");
        }

        for (Map.Entry<String, Path> file : files.entrySet()) {
            upload(relative, file.getKey(), digests.get(file.getKey()), RequestBody.fromFile(file.getValue()),
                    artifact);
        }
        byte[] manifestDigest = StoreFiles.sha256().digest(manifest);
        upload(relative, Manifest.FILE_NAME, manifestDigest, RequestBody.fromBytes(manifest), artifact);
        sha256.put(Manifest.FILE_NAME, HexFormat.of().formatHex(manifestDigest));
        return new StoredArtifact(artifact, sha256);
    }

    private void upload(String relative, String name, byte[] sha256, RequestBody body, URI artifact)
            throws IOException {
        try {
            s3.putObject(b -> b.bucket(bucket).key(key(relative, name))
                    .checksumAlgorithm(ChecksumAlgorithm.SHA256)
                    .checksumSHA256(Base64.getEncoder().encodeToString(sha256)), body);
        } catch (SdkException e) {
            throw failure(artifact + "/" + name, "upload failed", e);
        }
    }

    @Override
    public List<String> list(String relativeDir) throws IOException {
        String relative = RelativeDirs.normalize(relativeDir, true);
        String base = join(prefix, relative);
        String listPrefix = base.isEmpty() ? "" : base + "/";
        TreeSet<String> names = new TreeSet<>();
        ListObjectsV2Request request = ListObjectsV2Request.builder().bucket(bucket).prefix(listPrefix).delimiter("/")
                .build();
        try {
            for (ListObjectsV2Response page : s3.listObjectsV2Paginator(request)) {
                for (CommonPrefix child : page.commonPrefixes()) {
                    String name = child.prefix().substring(listPrefix.length());
                    names.add(name.endsWith("/") ? name.substring(0, name.length() - 1) : name);
                }
                for (S3Object object : page.contents()) {
                    String name = object.key().substring(listPrefix.length());
                    if (!name.isEmpty()) {
                        names.add(name);
                    }
                }
            }
        } catch (SdkException e) {
            throw failure(uriOf(relative).toString(), "list failed", e);
        }
        return new ArrayList<>(names);
    }

    @Override
    boolean hasManifest(String relativeDir) throws IOException {
        try {
            s3.headObject(b -> b.bucket(bucket).key(key(relativeDir, Manifest.FILE_NAME)));
            return true;
        } catch (NoSuchKeyException e) {
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return false;
            }
            throw failure(uriOf(relativeDir) + "/" + Manifest.FILE_NAME, "HEAD failed", e);
        } catch (SdkException e) {
            throw failure(uriOf(relativeDir) + "/" + Manifest.FILE_NAME, "HEAD failed", e);
        }
    }

    @Override
    String relativeDirOf(URI artifactUri) {
        if (!"s3".equalsIgnoreCase(artifactUri.getScheme()) || !bucket.equals(artifactUri.getAuthority())) {
            throw new IllegalArgumentException(artifactUri + " is not in the adapter store " + location());
        }
        String path = RelativeDirs.normalize(artifactUri.getPath() == null ? "" : artifactUri.getPath(), true);
        if (!prefix.isEmpty()) {
            if (!path.startsWith(prefix + "/")) {
                throw new IllegalArgumentException(artifactUri + " is not in the adapter store " + location());
            }
            path = path.substring(prefix.length() + 1);
        }
        if (path.isEmpty()) {
            throw new IllegalArgumentException(artifactUri + " is the store's root, not an artifact");
        }
        return path;
    }

    @Override
    URI uriOf(String relativeDir) {
        return URI.create(location() + "/" + relativeDir);
    }

    @Override
    InputStream openFile(String relativeDir, String name) throws IOException {
        String where = uriOf(relativeDir) + "/" + name;
        try {
            ResponseInputStream<GetObjectResponse> in =
                    s3.getObject(b -> b.bucket(bucket).key(key(relativeDir, name)));
            return in;
        } catch (NoSuchKeyException e) {
            throw new NoSuchFileException(where);
        } catch (SdkException e) {
            throw failure(where, "download failed", e);
        }
    }

    private byte[] readIfPresent(String key, URI artifact) throws IOException {
        try (ResponseInputStream<GetObjectResponse> in = s3.getObject(b -> b.bucket(bucket).key(key))) {
            return in.readAllBytes();
        } catch (NoSuchKeyException e) {
            return null;
        } catch (SdkException e) {
            throw failure(artifact + "/" + Manifest.FILE_NAME, "download failed", e);
        }
    }

    private String key(String relativeDir, String name) {
        return join(join(prefix, relativeDir), name);
    }

    private static String join(String a, String b) {
        return a.isEmpty() ? b : b.isEmpty() ? a : a + "/" + b;
    }

    /** An SDK failure as an IOException that names the object and the store's own words. */
    private static IOException failure(String where, String what, SdkException e) {
        String detail = e instanceof S3Exception s3e && s3e.awsErrorDetails() != null
                ? s3e.statusCode() + " " + s3e.awsErrorDetails().errorCode() + ": "
                        + s3e.awsErrorDetails().errorMessage()
                : e.getMessage();
        return new IOException(where + ": " + what + ": " + detail, e);
    }

    @Override
    public void close() {
        s3.close();
    }

    @Override
    public String toString() {
        return "S3AdapterStore[" + location() + "]";
    }
}
