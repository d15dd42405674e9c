package io.qlorastream.engine.compute.cuda;

import io.qlorastream.engine.compute.Backend;
import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.compute.device.Device;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every CUDA C kernel source compiles with the real NVRTC, through {@link CudaKernels#compile} and its options, into a
 * cubin for the A100 (sm_80) and the H100/H200 (sm_90) that defines each kernel {@link CudaKernels#SOURCES} lists for
 * it, on any machine: no GPU or driver is needed to compile. That covers the front end and ptxas (a cubin is machine
 * code), so a syntax, type or resource error in a kernel fails here. It does not run a kernel: whether one computes the
 * right numbers only a GPU shows (CudaBackendTest, bench/gpu/check.sh).
 * <p>
 * NVRTC comes from NVIDIA's pip wheels with a generated stub libcuda.so.1 (run-tests prepares them with
 * engine/src/test/cuda-stub/make-compile-only-libs.sh; the engine's surefire puts them on LD_LIBRARY_PATH). Where they
 * could not be prepared (no pip, no gcc) and the machine has no NVRTC of its own, the tests skip with the reason; where
 * they were prepared, NVRTC failing to load is a failure.
 */
class CudaKernelCompileTest {
    /** Compute capabilities compiled for: Ampere (A100) and Hopper (H100, H200). */
    private static final int[][] ARCHITECTURES = {{8, 0}, {9, 0}};
    private static final short EM_CUDA = 190;

    /** Null where NVRTC loads, else why not; asked once per class (loading is once per JVM anyway). */
    private static String nvrtcMissing;

    @BeforeAll
    static void loadNvrtc() {
        CompileLibs libs = CompileLibs.find();
        String loadFailure = nvrtcLoadFailure();
        if (loadFailure != null && libs.ready()) {
            fail("NVRTC was prepared in " + libs.dir() + " (" + libs.status() + ") but did not load: " + loadFailure);
        }
        nvrtcMissing = loadFailure == null ? null
                : "no NVRTC to compile the CUDA kernels with: " + libs.status() + "; " + loadFailure;
    }

    /** Per test, not in {@link #loadNvrtc}: surefire reports a class whose set-up skips as no tests at all. */
    @BeforeEach
    void skipWithoutNvrtc() {
        assumeTrue(nvrtcMissing == null, nvrtcMissing);
    }

    @TestFactory
    Stream<DynamicTest> everyKernelSourceCompilesToACubinDefiningItsKernelsForSm80AndSm90() {
        List<DynamicTest> tests = new ArrayList<>();
        assertThat(CudaKernels.SOURCES).isNotEmpty();
        // sorted: a stable order in the report whatever the map's
        new TreeMap<>(CudaKernels.SOURCES).forEach((file, kernels) -> {
            for (int[] cc : ARCHITECTURES) {
                tests.add(DynamicTest.dynamicTest(file + " for sm_" + cc[0] + cc[1], () -> {
                    byte[] cubin = CudaKernels.compile(file, CudaKernels.source(file), cc[0], cc[1]);
                    Cubin elf = Cubin.parse(file, cubin);
                    assertThat(elf.smArchitecture()).as(file + ": the cubin's architecture").isEqualTo(cc[0] * 10 + cc[1]);
                    assertThat(elf.functions()).as(file + ": the cubin's functions").containsAll(kernels);
                }));
            }
        });
        return tests.stream();
    }

    @Test
    void aSourceTheFrontEndRejectsFailsNamingTheFileWithNvrtcsLog() {
        String source = "extern \"C\" __global__ void broken(float* x) { x[0] = no_such_variable; }\n";
        assertThatThrownBy(() -> CudaKernels.compile("broken.cu", source, 9, 0))
                .isInstanceOf(CudaException.class)
                .hasMessageStartingWith("nvrtcCompileProgram(broken.cu) failed: NVRTC_ERROR_COMPILATION (6): ")
                .hasMessageContaining("broken.cu(1): error: identifier \"no_such_variable\" is undefined");
    }

    @Test
    void aSourcePtxasRejectsFailsToo() {
        // Valid C++, but 400 KB of shared memory is more than any GPU has (228 KB on sm_90): only ptxas sees it.
        String source = "extern \"C\" __global__ void greedy(float* x) {\n"
                + "  __shared__ float big[100000];\n"
                + "  big[threadIdx.x] = x[threadIdx.x];\n"
                + "  __syncthreads();\n"
                + "  x[threadIdx.x] = big[99999 - threadIdx.x];\n"
                + "}\n";
        assertThatThrownBy(() -> CudaKernels.compile("greedy.cu", source, 9, 0))
                .isInstanceOf(CudaException.class)
                .hasMessageStartingWith("nvrtcCompileProgram(greedy.cu) failed: NVRTC_ERROR_COMPILATION (6): ")
                .hasMessageContaining("ptxas")
                .hasMessageContaining("greedy");
    }

    @Test
    void withTheStubDriverThereIsNoGpuAndAutoComputesOnTheCpu() {
        CompileLibs libs = CompileLibs.find();
        assumeTrue(libs.ready() && libs.status().contains("driver=stub"),
                "the stub driver is not in use here (" + libs.status() + ")");
        CudaProbe.Result probe = CudaProbe.probe();
        assertThat(probe.available()).isFalse();
        assertThat(probe.reason()).isEqualTo("cudaGetDeviceCount failed: cudaErrorStubLibrary (34): "
                + "libcuda.so.1 is a stub, no NVIDIA driver is installed");
        List<String> log = new ArrayList<>();
        try (Backend backend = Device.AUTO.open(1, log::add)) {
            assertThat(backend).isInstanceOf(CpuBackend.class);
        }
        assertThat(log).containsExactly("compute: cpu (--device auto: no usable CUDA GPU (" + probe.reason()
                + "), computing on the CPU)");
    }

    /** Why NVRTC cannot be called here, or null when it can. */
    private static String nvrtcLoadFailure() {
        try {
            int[] major = new int[1];
            int[] minor = new int[1];
            CudaStatus.nvrtc("nvrtcVersion", org.bytedeco.cuda.global.nvrtc.nvrtcVersion(major, minor));
            return null;
        } catch (LinkageError | RuntimeException e) {
            return "NVRTC did not load (" + CudaProbe.firstLine(e) + ")";
        }
    }

    /** The directory make-compile-only-libs.sh prepared (surefire names it) and its one-line STATUS. */
    record CompileLibs(Path dir, String status) {
        static CompileLibs find() {
            String dir = System.getProperty("qlorastream.cuda.compileLibs");
            if (dir == null) {
                return new CompileLibs(null, "the compile-only CUDA libraries are not configured "
                        + "(the engine's surefire names them in qlorastream.cuda.compileLibs)");
            }
            Path status = Path.of(dir, "STATUS");
            try {
                String line = Files.isRegularFile(status) ? Files.readAllLines(status).stream().findFirst().orElse("") : "";
                return new CompileLibs(Path.of(dir), line.isBlank()
                        ? "the compile-only CUDA libraries are not prepared in " + dir
                        + " (run-tests prepares them: engine/src/test/cuda-stub/make-compile-only-libs.sh)"
                        : line.strip());
            } catch (IOException e) {
                return new CompileLibs(Path.of(dir), "cannot read " + status + ": " + e.getMessage());
            }
        }

        boolean ready() {
            return status.startsWith("ready");
        }
    }

    /**
     * The little of a cubin (a CUDA ELF64 object) checked here: the header (magic, class, machine, the SM architecture
     * in e_flags) and the names of the functions defined in its symbol table.
     */
    record Cubin(int smArchitecture, Set<String> functions) {
        static Cubin parse(String file, byte[] bytes) {
            assertThat(bytes.length).as(file + ": cubin size").isGreaterThan(64);
            assertThat(new byte[]{bytes[0], bytes[1], bytes[2], bytes[3]}).as(file + ": ELF magic")
                    .containsExactly(0x7f, 'E', 'L', 'F');
            assertThat(bytes[4]).as(file + ": ELFCLASS64").isEqualTo((byte) 2);
            assertThat(bytes[5]).as(file + ": little-endian").isEqualTo((byte) 1);
            ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            assertThat(b.getShort(18)).as(file + ": e_machine EM_CUDA").isEqualTo(EM_CUDA);
            int abiVersion = bytes[8];
            int flags = b.getInt(48);
            // CUDA's ELF ABI version 8 (CUDA 12.8 on) moved the SM number from e_flags' low byte to its second one.
            int sm = abiVersion >= 8 ? (flags >>> 8) & 0xff : flags & 0xff;

            long shoff = b.getLong(0x28);
            int shentsize = Short.toUnsignedInt(b.getShort(0x3a));
            int shnum = Short.toUnsignedInt(b.getShort(0x3c));
            Set<String> functions = new HashSet<>();
            for (int i = 0; i < shnum; i++) {
                int sh = (int) (shoff + (long) i * shentsize);
                if (b.getInt(sh + 4) != 2) { // SHT_SYMTAB
                    continue;
                }
                int symOffset = (int) b.getLong(sh + 0x18);
                long symSize = b.getLong(sh + 0x20);
                int strSection = (int) (shoff + (long) b.getInt(sh + 0x28) * shentsize);
                int strOffset = (int) b.getLong(strSection + 0x18);
                int entSize = (int) b.getLong(sh + 0x38);
                for (int s = symOffset; s + entSize <= symOffset + symSize; s += entSize) {
                    int info = bytes[s + 4];
                    int sectionIndex = Short.toUnsignedInt(b.getShort(s + 6));
                    if ((info & 0xf) == 2 && sectionIndex != 0) { // STT_FUNC, defined
                        functions.add(cString(bytes, strOffset + b.getInt(s)));
                    }
                }
            }
            return new Cubin(sm, functions);
        }

        private static String cString(byte[] bytes, int at) {
            int end = at;
            while (bytes[end] != 0) {
                end++;
            }
            return new String(bytes, at, end - at, StandardCharsets.US_ASCII);
        }
    }
}
