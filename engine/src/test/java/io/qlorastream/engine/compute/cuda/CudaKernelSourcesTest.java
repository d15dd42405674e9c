package io.qlorastream.engine.compute.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The CUDA C sources ship in the engine jar and are well-formed enough for NVRTC to be worth calling: every kernel
 * {@link CudaKernels} launches is defined {@code extern "C" __global__} in its file (no others), and brackets balance.
 * CudaKernelCompileTest compiles them with NVRTC; only a GPU machine runs them (CudaBackendTest).
 */
class CudaKernelSourcesTest {
    private static final Pattern KERNEL = Pattern.compile("extern\\s+\"C\"\\s+__global__\\s+void\\s+(\\w+)\\s*\\(");

    @Test
    void everySourceIsAResourceDefiningExactlyItsKernels() {
        assertThat(CudaKernels.SOURCES).containsKeys("nf4.cu", "rmsnorm.cu", "swiglu.cu", "adamw.cu", "convert.cu", "embedding.cu", "rope.cu",
                "attention.cu", "cross_entropy.cu", "lora_dropout.cu", "gradnorm.cu");
        for (Map.Entry<String, List<String>> e : CudaKernels.SOURCES.entrySet()) {
            String src = withoutComments(CudaKernels.source(e.getKey()));
            List<String> defined = new ArrayList<>();
            Matcher m = KERNEL.matcher(src);
            while (m.find()) {
                defined.add(m.group(1));
            }
            assertThat(defined).as(e.getKey()).containsExactlyInAnyOrderElementsOf(e.getValue());
            assertBalanced(e.getKey(), src);
        }
    }

    @Test
    void everyIncludedHeaderIsOneCudaKernelsHandsToNvrtcAndDefinesNoKernel() {
        Pattern include = Pattern.compile("#include\\s+\"([^\"]+)\"");
        for (String file : CudaKernels.SOURCES.keySet()) {
            Matcher m = include.matcher(withoutComments(CudaKernels.source(file)));
            while (m.find()) {
                assertThat(CudaKernels.HEADERS).as(file + " includes " + m.group(1)).contains(m.group(1));
            }
        }
        for (String header : CudaKernels.HEADERS) {
            String src = withoutComments(CudaKernels.source(header));
            assertThat(KERNEL.matcher(src).find()).as(header + " defines a kernel").isFalse();
            assertBalanced(header, src);
        }
    }

    @Test
    void theOptionsTargetTheDeviceAndForbidContractedMultiplyAdds() {
        assertThat(CudaKernels.options(9, 0)).containsExactly("--gpu-architecture=sm_90", "--fmad=false", "--std=c++17");
    }

    @Test
    void aMissingSourceIsNamed() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> CudaKernels.source("nope.cu"))
                .hasMessage("CUDA kernel source nope.cu is missing from the engine jar");
    }

    static String withoutComments(String s) {
        return s.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", " ");
    }

    static void assertBalanced(String file, String src) {
        String open = "({[";
        String close = ")}]";
        StringBuilder stack = new StringBuilder();
        for (char c : src.toCharArray()) {
            if (open.indexOf(c) >= 0) {
                stack.append(c);
            } else if (close.indexOf(c) >= 0) {
                assertThat(stack.length()).as(file + ": unmatched " + c).isPositive();
                assertThat(stack.charAt(stack.length() - 1)).as(file + ": mismatched " + c).isEqualTo(open.charAt(close.indexOf(c)));
                stack.setLength(stack.length() - 1);
            }
        }
        assertThat(stack.toString()).as(file + ": unclosed").isEmpty();
    }
}
