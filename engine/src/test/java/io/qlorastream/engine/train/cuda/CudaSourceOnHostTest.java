package io.qlorastream.engine.train.cuda;

import io.qlorastream.engine.compute.cuda.EmulatedDevice;
import io.qlorastream.engine.config.LlamaConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static io.qlorastream.engine.train.cuda.TrainingFixtures.config;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CUDA C kernels themselves, not only their Java mirrors, on the CPU: GPU-resident training runs on the emulated
 * device (fp32 with dropout, biases and checkpointing; bf16 with tied embeddings and no checkpointing), which records
 * the first launch of every kernel with the device memory before and after its mirror; then the very .cu text that
 * NVRTC compiles is built as C++ by g++ (engine/src/test/cuda-host/host_kernels.cpp: a std::thread per CUDA thread,
 * __syncthreads as a barrier) and replayed over the recorded memory, which must come out as the mirror left it (bit
 * for bit, or within 1e-5 where glibc's exp/log/sin/cos or a block's reduction order differ from Java's).
 * With CudaTrainingModelEmulatedTest (mirrors against the CPU engine) this ties the kernel sources to the CPU reference.
 * The widest shapes (rows longer than a thread block) replay in engine/src/test/cuda-host/check.sh: a minute of
 * thread start-ups. Skipped without g++ 11 or later (C++20's std::barrier).
 */
class CudaSourceOnHostTest {

    @Test
    void everyKernelTheTrainingLaunchesComputesWhatItsMirrorComputes(@TempDir Path dir) throws Exception {
        String gxx = gppVersion();
        assumeTrue(gxx != null, "no g++ 11 or later on PATH to build the CUDA sources as C++");
        Path launches = dir.resolve("launches");
        LlamaConfig untied = config(false, true);
        CudaTrainingModelEmulatedTest.both(untied, 0.05, 1, CudaTrainingModel.Precision.FP32, true,
                new EmulatedDevice(64 << 20, launches));
        CudaTrainingModelEmulatedTest.both(config(true, false), 0.05, 1, CudaTrainingModel.Precision.BF16, false,
                new EmulatedDevice(64 << 20, launches));
        List<String> recorded = new ArrayList<>();
        try (Stream<Path> files = Files.list(launches)) {
            files.map(p -> p.getFileName().toString().replace(".launch", "")).sorted().forEach(recorded::add);
        }
        assertThat(recorded).contains("rope_rotate", "causal_softmax_forward", "causal_softmax_backward",
                "cross_entropy_forward_backward", "rmsnorm_forward", "rmsnorm_backward", "swiglu_forward",
                "swiglu_backward", "lora_dropout_forward", "lora_dropout_backward", "sumsq_partials", "adamw_step",
                "nf4_dequantize_dq", "nf4_dequantize_dq_bf16", "f32_to_bf16", "embedding_forward");

        Path binary = dir.resolve("host_kernels");
        run(List.of("g++", "-std=c++20", "-O1", "-ffp-contract=off", "-pthread", "-Wall", "-Wno-unused-function",
                "-I", "src/main/resources/io/qlorastream/engine/compute/cuda", "-o", binary.toString(),
                "src/test/cuda-host/host_kernels.cpp"), 0);
        List<String> command = new ArrayList<>(List.of(binary.toString()));
        for (String k : recorded) {
            command.add(launches.resolve(k + ".launch").toString());
        }
        String report = run(command, -1);
        System.out.print(report);
        for (String k : recorded) {
            assertThat(report).as("report of " + k).containsPattern("(?m)^" + k + " +grid .* 0 beyond 1e-5");
        }
        assertThat(report).doesNotContain("no host entry");
    }

    /** Runs a command in the module directory; returns its output, failing on a nonzero exit when asked (expectExit 0). */
    static String run(List<String> command, int expectExit) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
        String text = new String(out, StandardCharsets.UTF_8);
        if (expectExit >= 0) {
            assertThat(p.exitValue()).as(String.join(" ", command) + ":\n" + text).isEqualTo(expectExit);
        }
        return text;
    }

    /** g++'s major version when it is 11 or later, else null. */
    static String gppVersion() {
        try {
            Process p = new ProcessBuilder("g++", "-dumpversion").redirectErrorStream(true).start();
            String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return null;
            }
            return Integer.parseInt(v.split("\\.")[0]) >= 11 ? v : null;
        } catch (IOException | NumberFormatException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
