package io.qlorastream.app.publisher;

import io.qlorastream.app.QloraStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** subscribe's target options: what does not fit the target is a one-line usage error (exit 2) before anything starts. */
class SubscribeCommandTest {
    @TempDir
    Path dir;

    private String usageError(String... options) {
        List<String> args = new ArrayList<>(List.of("subscribe", "--dir", dir.toString(), "--bootstrap-servers", "127.0.0.1:1"));
        args.addAll(List.of(options));
        String[] a = args.toArray(String[]::new);
        CommandLine cl = QloraStream.commandLine(a);
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        assertThat(cl.execute(a)).as(String.join(" ", options)).isEqualTo(2);
        String line = err.toString().lines().findFirst().orElse("");
        assertThat(line).startsWith("qlora-stream subscribe: ").endsWith("(see 'qlora-stream subscribe --help')");
        return line.replaceFirst("^qlora-stream subscribe: ", "").replaceFirst(" \\(see '[^']*'\\)$", "");
    }

    @Test
    void optionsThatDoNotFitTheTargetAreOneLineUsageErrors() {
        assertThat(usageError("--target", "sglang")).isEqualTo("--target sglang needs --server-url URL");
        assertThat(usageError("--target", "dir", "--server-url", "http://h:1")).isEqualTo("--server-url is for --target vllm or sglang");
        assertThat(usageError("--target", "sglang", "--vllm-url", "http://h:1"))
                .isEqualTo("--vllm-url goes with --target vllm only, and replaces --server-url");
        assertThat(usageError("--target", "llamacpp", "--stable-name", "prod"))
                .isEqualTo("--stable-name, --served-base-name and --resolver-dir are for --target vllm");
        assertThat(usageError("--on-switch", "systemctl restart llama")).isEqualTo("--on-switch is for --target llamacpp");
        assertThat(usageError("--vllm-url", "http://h:1", "--stable-name", "prod"))
                .isEqualTo("--stable-name prod serves one adapter: name exactly one --adapter, or put {adapter} in it");
        assertThat(usageError("--vllm-url", "http://h:1", "--resolver-dir", "/tmp/r")).isEqualTo("--resolver-dir needs --served-base-name");
        assertThat(usageError("--switch-attempts", "0")).isEqualTo("--switch-attempts / --switch-backoff / --switch-backoff-max: attempts must be at least 1, not 0");
        assertThat(usageError("--target", "triton")).startsWith("Invalid value for option '--target'");
    }
}
