package io.qlorastream.app;

import io.qlorastream.app.cli.Cli;
import io.qlorastream.engine.compute.cuda.CudaProbe;
import io.qlorastream.engine.model.ModelMaker;
import io.qlorastream.engine.model.ModelShape;
import io.qlorastream.engine.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** {@code --device} on every command that trains, scores or generates, and its failure without a GPU. */
class DeviceOptionTest {
    static final List<List<String>> ENGINE_COMMANDS = List.of(List.of("train"), List.of("score"), List.of("generate"),
            List.of("evaluate"), List.of("trainer"), List.of("retrain"), List.of("evaluator"),
            List.of("bench", "forward"), List.of("bench", "train"));

    @Test
    void everyCommandThatRunsTheEngineTakesDeviceDefaultingToCpu() {
        CommandLine root = QloraStream.commandLine();
        for (List<String> path : ENGINE_COMMANDS) {
            CommandLine cmd = root;
            for (String name : path) {
                cmd = cmd.getSubcommands().get(name);
                assertThat(cmd).as(String.join(" ", path)).isNotNull();
            }
            CommandLine.Model.OptionSpec device = cmd.getCommandSpec().findOption("--device");
            assertThat(device).as(String.join(" ", path) + " --device").isNotNull();
            assertThat(device.defaultValue()).isEqualTo("cpu");
        }
    }

    record Outcome(int exit, String out, String err) {
    }

    static Outcome run(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Cli.commandLine(new QloraStream(), args, env);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Outcome(exit, out.toString(), err.toString());
    }

    @Test
    void deviceCudaWithoutAGpuFailsWithOneLineNamingTheReason(@TempDir Path tmp) throws Exception {
        CudaProbe.Result gpu = CudaProbe.probe();
        assumeFalse(gpu.available(), "a CUDA GPU is visible here: --device cuda would succeed");
        Path model = tmp.resolve("tiny");
        ModelMaker.write(model, ModelShape.preset("tiny"), 1, DType.F32);
        String expected = "qlora-stream bench forward: --device cuda: no usable CUDA GPU: " + gpu.reason()
                + System.lineSeparator();

        Outcome flag = run(Map.of(), "bench", "forward", "--model", model.toString(), "--device", "cuda",
                "--seq-len", "4", "--decode-tokens", "1", "--repeats", "1");
        assertThat(flag.exit()).isEqualTo(Cli.EXIT_FAILURE);
        assertThat(flag.err()).isEqualTo(expected);
        assertThat(gpu.reason()).doesNotContain("\n").isNotBlank();

        // the compose trainer-gpu service sets it through the environment: the same layer as every option
        Outcome env = run(Map.of("QLORA_STREAM_DEVICE", "CUDA"), "bench", "forward", "--model", model.toString(),
                "--seq-len", "4", "--decode-tokens", "1", "--repeats", "1");
        assertThat(env.exit()).isEqualTo(Cli.EXIT_FAILURE);
        assertThat(env.err()).isEqualTo(expected);
    }

    @Test
    void autoWithoutAGpuRunsOnTheCpuAndSaysWhy(@TempDir Path tmp) throws Exception {
        CudaProbe.Result gpu = CudaProbe.probe();
        assumeFalse(gpu.available(), "a CUDA GPU is visible here: auto would pick it");
        Path model = tmp.resolve("tiny");
        ModelMaker.write(model, ModelShape.preset("tiny"), 1, DType.F32);
        java.io.ByteArrayOutputStream errBytes = new java.io.ByteArrayOutputStream();
        java.io.PrintStream saved = System.err;
        System.setErr(new java.io.PrintStream(errBytes, true));
        Outcome auto;
        try {
            auto = run(Map.of(), "bench", "forward", "--model", model.toString(), "--device", "auto", "--threads", "1",
                    "--seq-len", "4", "--decode-tokens", "1", "--repeats", "1");
        } finally {
            System.setErr(saved);
        }
        assertThat(auto.exit()).as(auto.err()).isZero();
        assertThat(errBytes.toString()).contains("compute: cpu (--device auto: no usable CUDA GPU (" + gpu.reason()
                + "), computing on the CPU)");
    }

    @Test
    void anUnknownDeviceIsAUsageErrorListingTheChoices() {
        Outcome bad = run(Map.of(), "bench", "forward", "--model", "m", "--device", "gpu");
        assertThat(bad.exit()).isEqualTo(Cli.EXIT_USAGE);
        assertThat(bad.err()).contains("unknown device 'gpu': expected cpu, cuda or auto");
    }
}
