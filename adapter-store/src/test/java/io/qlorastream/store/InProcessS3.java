package io.qlorastream.store;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.commons.io.file.PathUtils;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * An S3-compatible server in the test's JVM (S3Proxy over a temporary directory, SigV4 credentials, path-style), with
 * one bucket made. Shipped in this module's test-jar so the services' tests can run their adapter store on real S3
 * HTTP without a network.
 */
public final class InProcessS3 implements AutoCloseable {
    private static final String ACCESS_KEY = "test-access";
    private static final String SECRET_KEY = "test-secret";

    private final Path blobs;
    private final S3Proxy proxy;
    private final S3Settings settings;
    private final String bucket;

    private InProcessS3(Path blobs, S3Proxy proxy, S3Settings settings, String bucket) {
        this.blobs = blobs;
        this.proxy = proxy;
        this.settings = settings;
        this.bucket = bucket;
    }

    /** Starts a server on a free port with {@code bucket} created. */
    public static InProcessS3 start(String bucket) throws Exception {
        Path blobs = Files.createTempDirectory("qlora-stream-s3-");
        S3Proxy proxy = S3Proxy.builder()
                .blobStore(new FilesystemNio2BlobStore(blobs.toString()))
                .endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                .build();
        proxy.start();
        S3Settings settings = new S3Settings(URI.create("http://127.0.0.1:" + proxy.getPort()), "us-east-1", true,
                ACCESS_KEY, SECRET_KEY);
        try (S3Client client = S3AdapterStore.clientBuilder(settings).build()) {
            client.createBucket(b -> b.bucket(bucket));
        }
        return new InProcessS3(blobs, proxy, settings, bucket);
    }

    /** The endpoint, region, path style and credentials a store needs to reach this server. */
    public S3Settings settings() {
        return settings;
    }

    /** {@code s3://<bucket>/<prefix>}. */
    public String location(String prefix) {
        return "s3://" + bucket + "/" + prefix;
    }

    /** The object store's files on disk, for tests that check what was stored. */
    public Path blobDirectory() {
        return blobs;
    }

    @Override
    public void close() throws Exception {
        proxy.stop();
        PathUtils.delete(blobs);
    }
}
