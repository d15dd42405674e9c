package io.qlorastream.publisher.subscriber;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qlorastream.events.AdapterRelease;
import org.apache.commons.io.file.PathUtils;

import java.io.IOException;
import java.net.URI;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.UUID;

/**
 * vLLM's runtime LoRA API (server started with {@code --enable-lora}, {@code VLLM_ALLOW_RUNTIME_LORA_UPDATING=True},
 * able to read the subscriber's directory), in one of two modes:
 * <ul>
 * <li>versioned names (the default): {@code POST /v1/load_lora_adapter {"lora_name": "<adapter>-v<N>", "lora_path"}},
 * then, once that succeeded, {@code POST /v1/unload_lora_adapter} of the replaced version, so requests in flight on the
 * old version keep it and something is always loaded;</li>
 * <li>a stable name: the new version is loaded under that one name with {@code "load_inplace": true}, so clients never
 * change the model they ask for; a vLLM without in-place loading answers that the name is already loaded, and then
 * the name is unloaded and loaded again (and, should that load fail, the replaced version loaded back).</li>
 * </ul>
 * vLLM answers 400 with its JSON error when a name is already loaded or not loaded: versions are immutable, so the
 * first means the version is served already and the second that it is gone already; a switch is therefore safe to
 * try again. With a served base name, each version is also laid out for vLLM's filesystem LoRA resolver
 * ({@code VLLM_LORA_RESOLVER_CACHE_DIR}): {@code <resolverDir>/<lora name>/} with the verified weights (hard link) and
 * {@code adapter_config.json} whose {@code base_model_name_or_path} is the served base name, which that resolver
 * requires; these directories are what is loaded. An adapter vLLM rejects (DoRA, non-empty {@code modules_to_save})
 * is not sent.
 */
public final class VllmTarget implements ServingTarget {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String LOAD = "/v1/load_lora_adapter";
    private static final String UNLOAD = "/v1/unload_lora_adapter";

    private final JsonPost server;
    private final String stableName;
    private final String servedBaseName;
    private final Path resolverDir;

    /**
     * {@code stableName}: null for versioned names, else the one name ({@code {adapter}} in it stands for the
     * adapter's name); {@code servedBaseName} and {@code resolverDir}: both null, or the resolver layout.
     */
    public VllmTarget(URI base, String stableName, String servedBaseName, Path resolverDir) {
        if ((servedBaseName == null) != (resolverDir == null)) {
            throw new IllegalArgumentException("the resolver layout needs both the served base name and its directory");
        }
        this.server = new JsonPost(base);
        this.stableName = stableName;
        this.servedBaseName = servedBaseName;
        this.resolverDir = resolverDir;
    }

    /** Versioned names, no resolver layout: what {@code subscribe --vllm-url} always did. */
    public VllmTarget(URI base) {
        this(base, null, null, null);
    }

    @Override
    public String name() {
        return "vllm";
    }

    /** The name vLLM serves a version under, in the versioned mode. */
    public static String loraName(String adapter, int version) {
        return adapter + "-v" + version;
    }

    /** The name clients ask for: the stable name, or the version's own. */
    public String servedName(AdapterRelease r) {
        return stableName == null ? loraName(r.getAdapterName(), r.getVersion()) : stableName.replace("{adapter}", r.getAdapterName());
    }

    @Override
    public String unsupported(AdapterRelease release, Path versionDir) {
        try {
            JsonNode c = JSON.readTree(versionDir.resolve("adapter_config.json").toFile());
            if (c.path("use_dora").asBoolean(false)) {
                return "it is a DoRA adapter (use_dora), which vLLM does not serve";
            }
            JsonNode m = c.path("modules_to_save");
            if (m.isArray() && m.size() > 0) {
                return "modules_to_save " + m + " is not empty, which vLLM does not serve";
            }
            return null;
        } catch (IOException e) {
            return "adapter_config.json unreadable: " + e.getMessage();
        }
    }

    @Override
    public void switchTo(AdapterRelease r, Path versionDir, Integer replacedVersion) throws IOException, InterruptedException {
        String adapter = r.getAdapterName();
        Path path = loraPath(adapter, r.getVersion(), versionDir);
        if (stableName == null) {
            load(loraName(adapter, r.getVersion()), path, false);
            if (replacedVersion != null && replacedVersion != r.getVersion()) {
                unload(loraName(adapter, replacedVersion));
            }
            return;
        }
        String name = servedName(r);
        JsonPost.Answer a = server.post(LOAD, Map.of("lora_name", name, "lora_path", path.toString(), "load_inplace", true));
        if (!a.ok()) {
            if (!alreadyLoaded(a)) {
                throw refused(LOAD, name, a);
            }
            // A vLLM without in-place loading: unload, then load; on failure put the replaced version back.
            unload(name);
            try {
                load(name, path, false);
            } catch (IOException e) {
                if (replacedVersion != null) {
                    Path old = versionDir.resolveSibling("v" + replacedVersion);
                    load(name, loraPath(adapter, replacedVersion, old), true);
                }
                throw e;
            }
        }
        if (resolverDir != null) {
            pointStableEntry(name, loraName(adapter, r.getVersion())); // what the resolver finds after a restart
        }
    }

    private void load(String name, Path path, boolean alreadyIsFine) throws IOException, InterruptedException {
        JsonPost.Answer a = server.post(LOAD, Map.of("lora_name", name, "lora_path", path.toString()));
        // a version's name always holds the same bytes, so "already loaded" means served; a stable name's does not
        if (!a.ok() && !(alreadyLoaded(a) && (alreadyIsFine || stableName == null))) {
            throw refused(LOAD, name, a);
        }
    }

    private void unload(String name) throws IOException, InterruptedException {
        JsonPost.Answer a = server.post(UNLOAD, Map.of("lora_name", name));
        if (!a.ok() && !(a.status() / 100 == 4 && a.body().contains("cannot be found"))) {
            throw refused(UNLOAD, name, a);
        }
    }

    private static boolean alreadyLoaded(JsonPost.Answer a) {
        return a.status() == 400 && a.body().contains("has already been loaded");
    }

    private static IOException refused(String path, String name, JsonPost.Answer a) {
        return new IOException("vLLM " + path + " of " + name + " answered " + a.describe());
    }

    /** The directory vLLM loads the version from: the verified one, or its resolver entry (made once). */
    private Path loraPath(String adapter, int version, Path versionDir) throws IOException {
        if (resolverDir == null) {
            return versionDir.toAbsolutePath();
        }
        Path entry = resolverDir.resolve(loraName(adapter, version)).toAbsolutePath();
        if (Files.isDirectory(entry)) {
            return entry;
        }
        Files.createDirectories(resolverDir);
        Path tmp = resolverDir.resolve(".incoming-" + UUID.randomUUID());
        Files.createDirectory(tmp);
        try {
            ObjectNode config = (ObjectNode) JSON.readTree(versionDir.resolve("adapter_config.json").toFile());
            config.put("base_model_name_or_path", servedBaseName);
            JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.resolve("adapter_config.json").toFile(), config);
            Path weights = versionDir.resolve("adapter_model.safetensors");
            try {
                Files.createLink(tmp.resolve(weights.getFileName()), weights); // the verified bytes, not a copy
            } catch (IOException | UnsupportedOperationException e) {
                Files.copy(weights, tmp.resolve(weights.getFileName())); // another file system
            }
            Files.move(tmp, entry, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException e) {
            // made meanwhile by another subscriber
        } finally {
            if (Files.exists(tmp)) {
                PathUtils.deleteDirectory(tmp);
            }
        }
        return entry;
    }

    /** {@code <resolverDir>/<stable name>} becomes a relative link to the version's entry, by an atomic rename. */
    private void pointStableEntry(String stable, String versionEntry) throws IOException {
        Path link = resolverDir.resolve(".link-" + UUID.randomUUID());
        Files.createSymbolicLink(link, Path.of(versionEntry));
        Files.move(link, resolverDir.resolve(stable), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
