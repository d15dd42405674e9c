package io.qlorastream.store;

import static io.qlorastream.store.LocalAdapterStoreTest.sha256;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.blobstore.ForwardingBlobStore;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;

/** The S3 store against an in-process S3Proxy (filesystem blob store, path-style, SigV4 credentials). */
class S3AdapterStoreTest {
    private static final String BUCKET = "adapters";
    private static final String ACCESS_KEY = "test-access";
    private static final String SECRET_KEY = "test-secret";

    @TempDir static Path blobs;
    static S3Proxy proxy;
    static S3Settings settings;
    static S3Client raw;
    /** Every object key the server stored, in order. */
    static final List<String> stored = new CopyOnWriteArrayList<>();

    @TempDir Path temp;
    String prefix;
    AdapterStore store;

    @BeforeAll
    static void startS3Proxy() throws Exception {
        BlobStore recording = new ForwardingBlobStore(new FilesystemNio2BlobStore(blobs.toString())) {
            @Override
            public PutObjectResponse putBlob(PutObjectRequest request, InputStream content) {
                stored.add(request.key());
                return super.putBlob(request, content);
            }
        };
        proxy = S3Proxy.builder()
                .blobStore(recording)
                .endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                .build();
        proxy.start();
        settings = new S3Settings(URI.create("http://127.0.0.1:" + proxy.getPort()), "us-east-1", true, ACCESS_KEY,
                SECRET_KEY);
        raw = S3AdapterStore.clientBuilder(settings).build();
        raw.createBucket(b -> b.bucket(BUCKET));
    }

    @AfterAll
    static void stopS3Proxy() throws Exception {
        if (raw != null) {
            raw.close();
        }
        if (proxy != null) {
            proxy.stop();
        }
    }

    @BeforeEach
    void openStore(TestInfo test) {
        prefix = "stores/" + test.getTestMethod().orElseThrow().getName();
        store = AdapterStore.open("s3://" + BUCKET + "/" + prefix, settings);
    }

    @Test
    void putThenFetchGivesTheSameBytesWithTheManifestUploadedLastAndEveryUploadChecksummed() throws Exception {
        Path src = snapshotDir("a", 1);
        // The SHA-256 header of each PUT as it leaves the client (S3Proxy checks it, see the next test, but does not
        // hand it on to its blob store).
        Map<String, String> sentChecksums = new java.util.concurrent.ConcurrentHashMap<>();
        ExecutionInterceptor recorder = new ExecutionInterceptor() {
            @Override
            public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes attributes) {
                SdkHttpRequest request = context.httpRequest();
                if (request.method() == SdkHttpMethod.PUT) {
                    sentChecksums.put(request.encodedPath(),
                            request.firstMatchingHeader("x-amz-checksum-sha256").orElse("none"));
                }
            }
        };
        stored.clear();
        StoredArtifact artifact;
        try (AdapterStore recording = new S3AdapterStore(S3AdapterStore.clientBuilder(settings)
                .overrideConfiguration(c -> c.addExecutionInterceptor(recorder)).build(), BUCKET, prefix)) {
            artifact = recording.put("support/snapshots/s1", src);
        }

        assertThat(store.location()).isEqualTo(URI.create("s3://" + BUCKET + "/" + prefix));
        assertThat(artifact.uri()).isEqualTo(URI.create("s3://" + BUCKET + "/" + prefix + "/support/snapshots/s1"));
        assertThat(artifact.sha256()).containsOnlyKeys("adapter_config.json", "adapter_model.safetensors",
                "manifest.json");
        assertThat(artifact.sha256().get("adapter_model.safetensors"))
                .isEqualTo(sha256(Files.readAllBytes(src.resolve("adapter_model.safetensors"))));
        String base = prefix + "/support/snapshots/s1/";
        // A PUT the SDK retried reaches the server twice (seen once in CI: adapter_config.json stored twice, the
        // first attempt's response lost), so the order is checked on first arrivals, and the manifest must be the
        // last of all.
        assertThat(stored.stream().distinct().toList()).containsExactly(base + "adapter_config.json",
                base + "adapter_model.safetensors", base + "manifest.json");
        assertThat(stored.get(stored.size() - 1)).isEqualTo(base + "manifest.json");
        assertThat(sentChecksums).hasSize(3);
        for (String name : artifact.sha256().keySet()) {
            assertThat(sentChecksums.get("/" + BUCKET + "/" + base + name)).as("checksum sent with %s", name)
                    .isEqualTo(Base64.getEncoder()
                            .encodeToString(HexFormat.of().parseHex(artifact.sha256().get(name))));
        }
        byte[] manifest = raw.getObjectAsBytes(b -> b.bucket(BUCKET).key(base + "manifest.json")).asByteArray();
        assertThat(sha256(manifest)).isEqualTo(artifact.sha256().get("manifest.json"));

        Path out = temp.resolve("out");
        store.fetch(artifact.uri(), artifact.sha256(), out);
        for (String name : List.of("adapter_config.json", "adapter_model.safetensors")) {
            assertThat(Files.readAllBytes(out.resolve(name))).isEqualTo(Files.readAllBytes(src.resolve(name)));
        }
        assertThat(Files.readAllBytes(out.resolve("manifest.json"))).isEqualTo(manifest);
        assertThat(store.exists(artifact.uri())).isTrue();
        assertThat(store.exists(URI.create(store.location() + "/support/snapshots/s2"))).isFalse();
    }

    @Test
    void theServerRefusesAnUploadWhoseBytesDoNotMatchTheSha256Sent() {
        byte[] wrong = StoreFiles.sha256().digest("other".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> raw.putObject(b -> b.bucket(BUCKET).key(prefix + "/x")
                        .checksumSHA256(Base64.getEncoder().encodeToString(wrong)),
                RequestBody.fromString("payload")))
                .isInstanceOfSatisfying(S3Exception.class, e -> {
                    assertThat(e.statusCode()).isEqualTo(400);
                    assertThat(e.awsErrorDetails().errorCode()).isEqualTo("BadDigest");
                });
        assertThat(raw.listObjectsV2(b -> b.bucket(BUCKET).prefix(prefix + "/")).contents()).isEmpty();
    }

    @Test
    void aTamperedObjectIsNamedAndNeverLandsInTheTarget() throws Exception {
        StoredArtifact artifact = store.put("support/snapshots/s1", snapshotDir("a", 2));
        String key = prefix + "/support/snapshots/s1/adapter_model.safetensors";
        byte[] bytes = raw.getObjectAsBytes(b -> b.bucket(BUCKET).key(key)).asByteArray();
        bytes[7] ^= 1;
        raw.putObject(b -> b.bucket(BUCKET).key(key), RequestBody.fromBytes(bytes));

        Path out = temp.resolve("out");
        assertThatThrownBy(() -> store.fetch(artifact.uri(), artifact.sha256(), out))
                .isInstanceOfSatisfying(ArtifactVerificationException.class,
                        e -> assertThat(e.file()).isEqualTo("adapter_model.safetensors"))
                .hasMessageContaining(artifact.uri() + "/adapter_model.safetensors")
                .hasMessageContaining(sha256(bytes));
        try (Stream<Path> left = Files.list(out)) {
            assertThat(left).isEmpty();
        }
        assertThatThrownBy(() -> store.copy(artifact.uri(), artifact.sha256(), "support/releases/v1"))
                .isInstanceOf(ArtifactVerificationException.class);
        assertThat(store.list("support")).containsExactly("snapshots");
    }

    @Test
    void aForgedManifestAndAMissingObjectAreNamed() throws Exception {
        StoredArtifact artifact = store.put("support/snapshots/s1", snapshotDir("a", 3));
        String dir = prefix + "/support/snapshots/s1/";
        Map<String, String> forged = new HashMap<>(artifact.sha256());
        forged.remove("manifest.json");
        forged.put("adapter_config.json", sha256("{}".getBytes(StandardCharsets.UTF_8)));
        raw.putObject(b -> b.bucket(BUCKET).key(dir + "adapter_config.json"), RequestBody.fromString("{}"));
        raw.putObject(b -> b.bucket(BUCKET).key(dir + "manifest.json"),
                RequestBody.fromBytes(new Manifest(forged).toJson()));
        assertThatThrownBy(() -> store.fetch(artifact.uri(), artifact.sha256(), temp.resolve("out1")))
                .isInstanceOfSatisfying(ArtifactVerificationException.class,
                        e -> assertThat(e.file()).isEqualTo("manifest.json"));

        StoredArtifact other = store.put("support/snapshots/s2", snapshotDir("b", 4));
        raw.deleteObject(b -> b.bucket(BUCKET).key(prefix + "/support/snapshots/s2/adapter_model.safetensors"));
        assertThatThrownBy(() -> store.fetch(other.uri(), other.sha256(), temp.resolve("out2")))
                .isInstanceOfSatisfying(ArtifactVerificationException.class,
                        e -> assertThat(e.file()).isEqualTo("adapter_model.safetensors"))
                .hasMessageContaining("missing");
    }

    @Test
    void withoutItsManifestAnArtifactDoesNotExist() throws Exception {
        StoredArtifact artifact = store.put("support/snapshots/s1", snapshotDir("a", 5));
        // What an upload interrupted before its last object leaves behind.
        raw.deleteObject(b -> b.bucket(BUCKET).key(prefix + "/support/snapshots/s1/manifest.json"));
        assertThat(store.exists(artifact.uri())).isFalse();
        assertThatThrownBy(() -> store.fetch(artifact.uri(), artifact.sha256(), temp.resolve("out")))
                .isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining(artifact.uri().toString());
        // A retried put completes it.
        assertThat(store.put("support/snapshots/s1", snapshotDir("a", 5))).isEqualTo(artifact);
        assertThat(store.exists(artifact.uri())).isTrue();
    }

    @Test
    void copyInsideTheBucketAndListWithTheDelimiter() throws Exception {
        StoredArtifact snapshot = store.put("support/snapshots/s1", snapshotDir("a", 6));
        store.put("support/snapshots/s2", snapshotDir("b", 7));
        store.put("billing/snapshots/x", snapshotDir("c", 8));
        StoredArtifact release = store.copy(snapshot.uri(), snapshot.sha256(), "support/releases/v1");
        assertThat(release.uri()).isEqualTo(URI.create(store.location() + "/support/releases/v1"));
        assertThat(release.sha256()).isEqualTo(snapshot.sha256());
        store.fetch(release.uri(), release.sha256(), temp.resolve("out"));

        assertThat(store.list("")).containsExactly("billing", "support");
        assertThat(store.list("support")).containsExactly("releases", "snapshots");
        assertThat(store.list("support/snapshots/")).containsExactly("s1", "s2");
        assertThat(store.list("support/releases/v1"))
                .containsExactly("adapter_config.json", "adapter_model.safetensors", "manifest.json");
        assertThat(store.list("nothing")).isEmpty();
    }

    @Test
    void putIsIdempotentForTheSameFilesAndRefusesDifferentOnes() throws Exception {
        Path src = snapshotDir("a", 9);
        StoredArtifact first = store.put("support/snapshots/s1", src);
        assertThat(store.put("support/snapshots/s1", src)).isEqualTo(first);
        assertThatThrownBy(() -> store.put("support/snapshots/s1", snapshotDir("b", 10)))
                .isInstanceOf(FileAlreadyExistsException.class)
                .hasMessageContaining(first.uri().toString());
    }

    @Test
    void urisOutsideTheStoreAreRefused() {
        assertThatThrownBy(() -> store.exists(URI.create("s3://other-bucket/" + prefix + "/a")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store.exists(URI.create("s3://" + BUCKET + "/elsewhere/a")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store.exists(temp.toUri())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aServerErrorNamesTheObject() throws Exception {
        try (AdapterStore missingBucket = AdapterStore.open("s3://no-such-bucket/p", settings)) {
            assertThatThrownBy(() -> missingBucket.put("a/snapshots/s1", snapshotDir("a", 11)))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("s3://no-such-bucket/p/a/snapshots/s1/")
                    .hasMessageContaining("NoSuchBucket");
        }
        try (AdapterStore wrongKey = AdapterStore.open("s3://" + BUCKET + "/p",
                settings.withCredentials(ACCESS_KEY, "wrong-secret"))) {
            assertThatThrownBy(() -> wrongKey.list("a"))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("s3://" + BUCKET + "/p/a")
                    .hasMessageContaining("403");
        }
    }

    /**
     * open(location) and forUri read QLORA_STREAM_S3_* (system properties here) and take credentials from the AWS
     * default chain (aws.accessKeyId / aws.secretAccessKey); copy from S3 into a local store goes through them.
     */
    @Test
    void theEnvironmentAndTheDefaultCredentialChainReachTheStore() throws Exception {
        StoredArtifact snapshot = store.put("support/snapshots/s1", snapshotDir("a", 12));
        Map<String, String> props = Map.of(
                S3Settings.ENDPOINT_VARIABLE, settings.endpoint().toString(),
                S3Settings.REGION_VARIABLE, "eu-west-1",
                S3Settings.PATH_STYLE_VARIABLE, "true",
                "aws.accessKeyId", ACCESS_KEY,
                "aws.secretAccessKey", SECRET_KEY);
        props.forEach(System::setProperty);
        try {
            try (AdapterStore fromEnv = AdapterStore.open("s3://" + BUCKET + "/" + prefix)) {
                assertThat(fromEnv.list("support/snapshots")).containsExactly("s1");
            }
            try (AdapterStore local = AdapterStore.open(temp.resolve("local").toString())) {
                StoredArtifact copied = local.copy(snapshot.uri(), snapshot.sha256(), "support/releases/v1");
                assertThat(copied.uri().getScheme()).isEqualTo("file");
                assertThat(copied.sha256()).isEqualTo(snapshot.sha256());
            }
        } finally {
            props.keySet().forEach(System::clearProperty);
        }
    }

    @Test
    void settingsFromVariables() {
        S3Settings parsed = S3Settings.from(Map.of(
                S3Settings.ENDPOINT_VARIABLE, "http://minio:9000",
                S3Settings.REGION_VARIABLE, "eu-central-1",
                S3Settings.PATH_STYLE_VARIABLE, "TRUE")::get);
        assertThat(parsed).isEqualTo(new S3Settings(URI.create("http://minio:9000"), "eu-central-1", true, null, null));
        assertThat(S3Settings.from(Map.<String, String>of()::get)).isEqualTo(S3Settings.defaults());
        assertThatThrownBy(() -> S3Settings.from(Map.of(S3Settings.PATH_STYLE_VARIABLE, "maybe")::get))
                .hasMessageContaining(S3Settings.PATH_STYLE_VARIABLE);
        assertThat(settings.toString()).doesNotContain(SECRET_KEY);
        assertThatThrownBy(() -> new S3Settings(null, null, false, "id", null))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private Path snapshotDir(String name, long seed) throws IOException {
        Path dir = Files.createDirectories(temp.resolve("src").resolve(name + "-" + seed));
        Random random = new Random(seed);
        byte[] model = new byte[256 * 1024 + random.nextInt(1024)];
        random.nextBytes(model);
        Files.write(dir.resolve("adapter_model.safetensors"), model);
        Files.writeString(dir.resolve("adapter_config.json"), "{\"r\": 8, \"seed\": " + seed + "}");
        return dir;
    }
}
