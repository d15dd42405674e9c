package io.qlorastream.publisher.subscriber;

import io.qlorastream.events.AdapterRelease;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * llama.cpp's server (and Ollama) load LoRA adapters only at start ({@code --lora FILE}): this target serves a
 * release's GGUF form, {@code adapter.gguf} in the verified release directory, by running a hook command (typically a
 * restart of the server) through {@code /bin/sh -c} with {@code QLORA_ADAPTER_GGUF} (that file's absolute path),
 * {@code QLORA_ADAPTER_NAME}, {@code QLORA_ADAPTER_VERSION}, {@code QLORA_ADAPTER_DIR} and
 * {@code QLORA_REPLACED_VERSION} (empty if none) in its environment. A non-zero exit is a failed switch (tried again);
 * a release without a GGUF form is not sent.
 */
public final class LlamaCppTarget implements ServingTarget {
    /** The file name of a release's GGUF form, as the exporter writes it. */
    public static final String GGUF_FILE = "adapter.gguf";

    private static final Logger LOG = LoggerFactory.getLogger(LlamaCppTarget.class);
    private static final long HOOK_TIMEOUT_MINUTES = 10; // a server restart loading a model can be slow, never endless

    private final String onSwitch;

    /** {@code onSwitch}: the hook's shell command; null installs only. */
    public LlamaCppTarget(String onSwitch) {
        this.onSwitch = onSwitch;
    }

    @Override
    public String name() {
        return "llamacpp";
    }

    @Override
    public String unsupported(AdapterRelease r, Path versionDir) {
        return Files.isRegularFile(versionDir.resolve(GGUF_FILE)) ? null
                : "release " + r.getAdapterName() + " v" + r.getVersion() + " has no GGUF form (" + GGUF_FILE + ")";
    }

    @Override
    public void switchTo(AdapterRelease r, Path versionDir, Integer replacedVersion) throws IOException, InterruptedException {
        if (onSwitch == null) {
            return;
        }
        ProcessBuilder pb = new ProcessBuilder(List.of("/bin/sh", "-c", onSwitch)).redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.put("QLORA_ADAPTER_GGUF", versionDir.resolve(GGUF_FILE).toAbsolutePath().toString());
        env.put("QLORA_ADAPTER_NAME", r.getAdapterName());
        env.put("QLORA_ADAPTER_VERSION", Integer.toString(r.getVersion()));
        env.put("QLORA_ADAPTER_DIR", versionDir.toAbsolutePath().toString());
        env.put("QLORA_REPLACED_VERSION", replacedVersion == null ? "" : replacedVersion.toString());
        Path log = Files.createTempFile("qlora-on-switch", ".log"); // a file, so a chatty hook never blocks on a full pipe
        pb.redirectOutput(log.toFile());
        Process p = pb.start();
        p.getOutputStream().close();
        String output;
        try {
            if (!p.waitFor(HOOK_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException("--on-switch did not finish within " + HOOK_TIMEOUT_MINUTES + " minutes");
            }
            output = Files.readString(log, StandardCharsets.UTF_8).strip();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            throw e;
        } finally {
            Files.deleteIfExists(log);
        }
        if (!output.isEmpty()) {
            LOG.info("--on-switch: {}", output);
        }
        if (p.exitValue() != 0) {
            String last = output.isEmpty() ? "" : ": " + output.substring(output.lastIndexOf('\n') + 1);
            throw new IOException("--on-switch exited " + p.exitValue() + last);
        }
    }
}
