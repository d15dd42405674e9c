package io.qlorastream.engine.compute.cuda;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The status → exception mapping; runs without CUDA (the names are compile-time constants, no natives load). */
class CudaStatusTest {

    @Test
    void everyNonSuccessStatusBecomesAnExceptionNamingTheCallAndTheStatus() {
        assertThatThrownBy(() -> CudaStatus.cublas("cublasSgemm_v2", 13))
                .isInstanceOf(CudaException.class)
                .hasMessage("cublasSgemm_v2 failed: CUBLAS_STATUS_EXECUTION_FAILED (13)")
                .satisfies(e -> {
                    assertThat(((CudaException) e).call()).isEqualTo("cublasSgemm_v2");
                    assertThat(((CudaException) e).status()).isEqualTo(13);
                });
        assertThatThrownBy(() -> CudaStatus.runtime("cudaMalloc(64 bytes)", 2))
                .hasMessage("cudaMalloc(64 bytes) failed: cudaErrorMemoryAllocation (2)");
        assertThatThrownBy(() -> CudaStatus.runtime("cudaGetDeviceCount", 100))
                .hasMessage("cudaGetDeviceCount failed: cudaErrorNoDevice (100)");
        assertThatThrownBy(() -> CudaStatus.driver("cuLaunchKernel(nf4_dequantize)", 700))
                .hasMessage("cuLaunchKernel(nf4_dequantize) failed: CUDA_ERROR_ILLEGAL_ADDRESS (700)");
        assertThatThrownBy(() -> CudaStatus.nvrtc("nvrtcCompileProgram(nf4.cu)", 6))
                .hasMessage("nvrtcCompileProgram(nf4.cu) failed: NVRTC_ERROR_COMPILATION (6)");
    }

    @Test
    void theSameCodeMeansDifferentThingsInEachApi() {
        assertThat(CudaStatus.Api.RUNTIME.name(3)).isEqualTo("cudaErrorInitializationError");
        assertThat(CudaStatus.Api.DRIVER.name(3)).isEqualTo("CUDA_ERROR_NOT_INITIALIZED");
        assertThat(CudaStatus.Api.CUBLAS.name(3)).isEqualTo("CUBLAS_STATUS_ALLOC_FAILED");
        assertThat(CudaStatus.Api.NVRTC.name(3)).isEqualTo("NVRTC_ERROR_INVALID_INPUT");
    }

    @Test
    void successIsZeroInAllFourApisAndPassesUnknownCodesAreStillReported() {
        for (CudaStatus.Api api : CudaStatus.Api.values()) {
            assertThat(api.name(0)).matches("cudaSuccess|CUDA_SUCCESS|CUBLAS_STATUS_SUCCESS|NVRTC_SUCCESS");
            assertThatCode(() -> CudaStatus.check(api, "call", 0)).doesNotThrowAnyException();
        }
        assertThatThrownBy(() -> CudaStatus.cublas("cublasCreate_v2", 12345))
                .hasMessage("cublasCreate_v2 failed: unknown cublas status 12345 (12345)");
    }

    @Test
    void theNameTablesAreComplete() {
        assertThat(CudaStatusNames.RUNTIME).hasSizeGreaterThan(100).containsEntry(35, "cudaErrorInsufficientDriver");
        assertThat(CudaStatusNames.DRIVER).hasSizeGreaterThan(90).containsEntry(34, "CUDA_ERROR_STUB_LIBRARY");
        assertThat(CudaStatusNames.CUBLAS).hasSize(10);
        assertThat(CudaStatusNames.NVRTC).containsEntry(0, "NVRTC_SUCCESS").hasSizeGreaterThan(10);
    }

    @Test
    void firstLineKeepsLoaderMessagesOnOneShortLine() {
        UnsatisfiedLinkError e = new UnsatisfiedLinkError("no jnicudart in java.library.path\n  at line two\n");
        assertThat(CudaProbe.firstLine(e)).isEqualTo("no jnicudart in java.library.path");
        assertThat(CudaProbe.firstLine(new RuntimeException("x".repeat(300)))).hasSize(203).endsWith("...");
        // Bytedeco's loader: the outer message is generic, the cause names the missing library after the JNI path
        UnsatisfiedLinkError loader = new UnsatisfiedLinkError("no jnicudart in java.library.path: /usr/lib");
        loader.initCause(new UnsatisfiedLinkError("/root/.javacpp/cache/cuda.jar/org/bytedeco/cuda/linux-x86_64/"
                + "libjnicudart.so: libcuda.so.1: cannot open shared object file: No such file or directory"));
        assertThat(CudaProbe.firstLine(loader)).isEqualTo("libcuda.so.1: cannot open shared object file: No such file or directory");
    }
}
