package io.qlorastream.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalAdapterStoreTest {
    @TempDir Path temp;
    Path storeDir;
    AdapterStore store;

    @BeforeEach
    void openStore() {
        storeDir = temp.resolve("store");
        store = AdapterStore.open(storeDir.toString());
    }

    @Test
    void putThenFetchGivesTheSameBytesAndTheManifestListsEveryFile() throws Exception {
        Path src = snapshotDir("a", 1);
        StoredArtifact artifact = store.put("support/snapshots/s1", src);

        assertThat(artifact.uri()).isEqualTo(URI.create(storeDir.toUri() + "support/snapshots/s1"));
        assertThat(artifact.uri().toString()).startsWith(store.location() + "/");
        assertThat(artifact.sha256()).containsOnlyKeys("adapter_config.json", "adapter_model.safetensors",
                "manifest.json");
        assertThat(artifact.sha256().get("adapter_model.safetensors"))
                .isEqualTo(sha256(Files.readAllBytes(src.resolve("adapter_model.safetensors"))));
        Path stored = storeDir.resolve("support/snapshots/s1");
        assertThat(artifact.sha256().get("manifest.json"))
                .isEqualTo(sha256(Files.readAllBytes(stored.resolve("manifest.json"))));
        Manifest manifest = Manifest.parse(Files.readAllBytes(stored.resolve("manifest.json")));
        assertThat(manifest.files()).hasSize(2)
                .containsEntry("adapter_config.json", artifact.sha256().get("adapter_config.json"));

        Path out = temp.resolve("out");
        store.fetch(artifact.uri(), artifact.sha256(), out);
        for (String name : List.of("adapter_config.json", "adapter_model.safetensors")) {
            assertThat(Files.readAllBytes(out.resolve(name))).isEqualTo(Files.readAllBytes(src.resolve(name)));
        }
        assertThat(Files.readAllBytes(out.resolve("manifest.json")))
                .isEqualTo(Files.readAllBytes(stored.resolve("manifest.json")));
        try (Stream<Path> left = Files.list(out)) {
            assertThat(left.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder("adapter_config.json", "adapter_model.safetensors", "manifest.json");
        }
        assertThat(store.exists(artifact.uri())).isTrue();
        assertThat(store.exists(URI.create(store.location() + "/support/snapshots/s2"))).isFalse();
        // No staging left behind.
        try (Stream<Path> staging = Files.list(storeDir.resolve(".staging"))) {
            assertThat(staging).isEmpty();
        }
    }

    @Test
    void aTamperedFileIsNamedAndNeverLandsInTheTarget() throws Exception {
        StoredArtifact artifact = store.put("support/snapshots/s1", snapshotDir("a", 2));
        Path model = storeDir.resolve("support/snapshots/s1/adapter_model.safetensors");
        byte[] bytes = Files.readAllBytes(model);
        bytes[bytes.length / 2] ^= 1;
        Files.write(model, bytes);

        Path out = temp.resolve("out");
        assertThatThrownBy(() -> store.fetch(artifact.uri(), artifact.sha256(), out))
                .isInstanceOfSatisfying(ArtifactVerificationException.class, e -> {
                    assertThat(e.file()).isEqualTo("adapter_model.safetensors");
                    assertThat(e.artifact()).isEqualTo(artifact.uri());
                })
                .hasMessageContaining(artifact.uri() + "/adapter_model.safetensors")
                .hasMessageContaining(sha256(bytes));
        try (Stream<Path> left = Files.list(out)) {
            assertThat(left).isEmpty();
        }
    }

    @Test
    void aManifestRewrittenToMatchATamperedFileIsCaughtByTheExpectedHashes() throws Exception {
        StoredArtifact artifact = store.put("support/snapshots/s1", snapshotDir("a", 3));
        Path dir = storeDir.resolve("support/snapshots/s1");
        byte[] forged = "forged".getBytes(StandardCharsets.UTF_8);
        Files.write(dir.resolve("adapter_model.safetensors"), forged);
        Map<String, String> files =
                new HashMap<>(Manifest.parse(Files.readAllBytes(dir.resolve("manifest.json"))).files());
        files.put("adapter_model.safetensors", sha256(forged));
        Files.write(dir.resolve("manifest.json"), new Manifest(files).toJson());

        assertThatThrownBy(() -> store.fetch(artifact.uri(), artifact.sha256(), temp.resolve("out1")))
                .isInstanceOfSatisfying(ArtifactVerificationException.class,
                        e -> assertThat(e.file()).isEqualTo("manifest.json"));
        Map<String, String> withoutManifest = new HashMap<>(artifact.sha256());
        withoutManifest.remove("manifest.json");
        assertThatThrownBy(() -> store.fetch(artifact.uri(), withoutManifest, temp.resolve("out2")))
                .isInstanceOfSatisfying(ArtifactVerificationException.class,
                        e -> assertThat(e.file()).isEqualTo("adapter_model.safetensors"))
                .hasMessageContaining("manifest.json says");
    }

    @Test
    void aMissingFileIsNamed() throws Exception {
        StoredArtifact artifact = store.put("support/snapshots/s1", snapshotDir("a", 4));
        Files.delete(storeDir.resolve("support/snapshots/s1/adapter_config.json"));
        assertThatThrownBy(() -> store.fetch(artifact.uri(), artifact.sha256(), temp.resolve("out")))
                .isInstanceOfSatisfying(ArtifactVerificationException.class,
                        e -> assertThat(e.file()).isEqualTo("adapter_config.json"))
                .hasMessageContaining("missing");
    }

    @Test
    void anExpectedFileTheManifestDoesNotListIsNamed() throws Exception {
        StoredArtifact artifact = store.put("support/snapshots/s1", snapshotDir("a", 5));
        Map<String, String> expected = new HashMap<>(artifact.sha256());
        expected.put("tokenizer.json", artifact.sha256().get("adapter_config.json"));
        assertThatThrownBy(() -> store.fetch(artifact.uri(), expected, temp.resolve("out")))
                .isInstanceOfSatisfying(ArtifactVerificationException.class,
                        e -> assertThat(e.file()).isEqualTo("tokenizer.json"));
    }

    @Test
    void aMissingArtifactOrOneOutsideTheStoreIsAClearError() throws Exception {
        URI missing = URI.create(store.location() + "/support/snapshots/nope");
        assertThatThrownBy(() -> store.fetch(missing, Map.of(), temp.resolve("out")))
                .isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining(missing.toString());
        URI outside = temp.resolve("elsewhere/x").toUri();
        assertThatThrownBy(() -> store.fetch(outside, Map.of(), temp.resolve("out")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not in the adapter store");
        assertThatThrownBy(() -> store.put("support/../../x", snapshotDir("a", 6)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store.put("/", snapshotDir("b", 6)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store.put("support/snapshots/with space", snapshotDir("c", 6)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("with space");
        assertThatThrownBy(() -> store.list("support/.staging")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void copyVerifiesTheSourceAndGivesTheSameHashesUnderTheNewName() throws Exception {
        StoredArtifact snapshot = store.put("support/snapshots/s1", snapshotDir("a", 7));
        StoredArtifact release = store.copy(snapshot.uri(), snapshot.sha256(), "support/releases/v1");
        assertThat(release.uri()).isEqualTo(URI.create(store.location() + "/support/releases/v1"));
        assertThat(release.sha256()).isEqualTo(snapshot.sha256());
        store.fetch(release.uri(), release.sha256(), temp.resolve("out"));

        Files.write(storeDir.resolve("support/snapshots/s1/adapter_config.json"),
                "{}".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> store.copy(snapshot.uri(), snapshot.sha256(), "support/releases/v2"))
                .isInstanceOfSatisfying(ArtifactVerificationException.class,
                        e -> assertThat(e.file()).isEqualTo("adapter_config.json"));
        assertThat(store.exists(URI.create(store.location() + "/support/releases/v2"))).isFalse();
        assertThat(store.list("support/releases")).containsExactly("v1");
    }

    @Test
    void copyFromAnotherStore() throws Exception {
        StoredArtifact snapshot;
        try (AdapterStore other = AdapterStore.open(temp.resolve("other").toUri().toString())) {
            snapshot = other.put("support/snapshots/s1", snapshotDir("a", 8));
        }
        StoredArtifact release = store.copy(snapshot.uri(), snapshot.sha256(), "support/releases/v1");
        assertThat(release.sha256()).isEqualTo(snapshot.sha256());
        try (AdapterStore holder = AdapterStore.forUri(release.uri())) {
            assertThat(holder.exists(release.uri())).isTrue();
            holder.fetch(release.uri(), release.sha256(), temp.resolve("out"));
        }
    }

    @Test
    void listNamesChildrenSortedAndHidesStaging() throws Exception {
        store.put("support/snapshots/s2", snapshotDir("a", 9));
        store.put("support/snapshots/s1", snapshotDir("b", 10));
        store.put("support/releases/v1", snapshotDir("c", 11));
        store.put("billing/snapshots/x", snapshotDir("d", 12));
        assertThat(store.list("")).containsExactly("billing", "support");
        assertThat(store.list("support")).containsExactly("releases", "snapshots");
        assertThat(store.list("/support/snapshots/")).containsExactly("s1", "s2");
        assertThat(store.list("support/snapshots/s1"))
                .containsExactly("adapter_config.json", "adapter_model.safetensors", "manifest.json");
        assertThat(store.list("nothing/here")).isEmpty();
    }

    @Test
    void putIsIdempotentForTheSameFilesAndRefusesDifferentOnes() throws Exception {
        Path src = snapshotDir("a", 13);
        StoredArtifact first = store.put("support/snapshots/s1", src);
        assertThat(store.put("support/snapshots/s1", src)).isEqualTo(first);
        assertThatThrownBy(() -> store.put("support/snapshots/s1", snapshotDir("b", 14)))
                .isInstanceOf(FileAlreadyExistsException.class)
                .hasMessageContaining(first.uri().toString());
        store.fetch(first.uri(), first.sha256(), temp.resolve("out"));
    }

    @Test
    void aFetchedDirectoryPutsBackAsTheSameArtifact() throws Exception {
        StoredArtifact first = store.put("support/snapshots/s1", snapshotDir("a", 15));
        Path out = temp.resolve("out");
        store.fetch(first.uri(), first.sha256(), out);
        // The fetched manifest.json is not stored as a file of the artifact: the store writes its own, byte-identical.
        StoredArtifact again = store.put("support/releases/v1", out);
        assertThat(again.sha256()).isEqualTo(first.sha256());
    }

    @Test
    void putRefusesADirectoryWithSubdirectoriesOrNoFiles() throws Exception {
        Path src = snapshotDir("a", 16);
        Files.createDirectory(src.resolve("nested"));
        assertThatThrownBy(() -> store.put("support/snapshots/s1", src)).isInstanceOf(IOException.class)
                .hasMessageContaining("nested");
        Path empty = Files.createDirectory(temp.resolve("empty"));
        assertThatThrownBy(() -> store.put("support/snapshots/s1", empty)).isInstanceOf(IOException.class)
                .hasMessageContaining("no files");
        assertThat(store.list("support/snapshots")).isEmpty();
    }

    @Test
    void openAcceptsAPathAFileUriAndForUriFindsTheStore() throws Exception {
        StoredArtifact artifact = store.put("support/snapshots/s1", snapshotDir("a", 17));
        try (AdapterStore byUri = AdapterStore.open(storeDir.toUri().toString())) {
            assertThat(byUri.location()).isEqualTo(store.location());
            assertThat(byUri.exists(artifact.uri())).isTrue();
        }
        try (AdapterStore holder = AdapterStore.forUri(artifact.uri())) {
            assertThat(holder.exists(artifact.uri())).isTrue();
        }
        assertThatThrownBy(() -> AdapterStore.open(" ")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> AdapterStore.forUri(URI.create("http://host/x")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * A reader racing the writer sees each artifact directory either not at all or complete: every directory it lists
     * has its manifest.
     */
    @Test
    void aConcurrentReaderNeverSeesADirectoryWithoutItsManifest() throws Exception {
        int artifacts = 40;
        List<Path> sources = new ArrayList<>();
        for (int i = 0; i < artifacts; i++) {
            sources.add(snapshotDir("src" + i, 100 + i));
        }
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicInteger checks = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<?> writer = pool.submit(() -> {
                try {
                    for (int i = 0; i < artifacts; i++) {
                        store.put("support/snapshots/s" + i, sources.get(i));
                    }
                } finally {
                    writing.set(false);
                }
                return null;
            });
            Future<?> reader = pool.submit(() -> {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                boolean last = false;
                // A tight list-and-check loop, so that a window in which a listed directory lacks its manifest is hit.
                while (!last && System.nanoTime() < deadline) {
                    last = !writing.get();
                    for (String name : store.list("support/snapshots")) {
                        assertThat(storeDir.resolve("support/snapshots").resolve(name).resolve("manifest.json"))
                                .as("manifest of listed %s", name).isRegularFile();
                        checks.incrementAndGet();
                    }
                }
                return null;
            });
            writer.get(120, TimeUnit.SECONDS);
            reader.get(120, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
        assertThat(checks.get()).isGreaterThanOrEqualTo(artifacts);
        List<String> names = store.list("support/snapshots");
        assertThat(names).hasSize(artifacts);
        for (String name : names) {
            URI uri = URI.create(store.location() + "/support/snapshots/" + name);
            assertThat(store.exists(uri)).isTrue();
            store.fetch(uri, Map.of(), temp.resolve("read").resolve(name));
        }
    }

    /** A snapshot-like directory: a small config and a ~256 KiB random "model". */
    private Path snapshotDir(String name, long seed) throws IOException {
        Path dir = Files.createDirectories(temp.resolve("src").resolve(name + "-" + seed));
        Random random = new Random(seed);
        byte[] model = new byte[256 * 1024 + random.nextInt(1024)];
        random.nextBytes(model);
        Files.write(dir.resolve("adapter_model.safetensors"), model);
        Files.writeString(dir.resolve("adapter_config.json"), "{\"r\": 8, \"seed\": " + seed + "}");
        return dir;
    }

    static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
