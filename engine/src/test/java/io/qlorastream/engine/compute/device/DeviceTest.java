package io.qlorastream.engine.compute.device;

import io.qlorastream.engine.compute.Backend;
import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.compute.cuda.CudaProbe;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class DeviceTest {
    static final CudaProbe.Result NO_GPU = CudaProbe.Result.unavailable("the CUDA libraries did not load (no jnicudart)");
    static final CudaProbe.Result H200 = CudaProbe.Result.gpu(1, "NVIDIA H200", 9, 0);

    @Test
    void parsesTheThreeDevicesCaseInsensitivelyAndNamesTheChoicesOtherwise() {
        assertThat(Device.parse("cpu")).isEqualTo(Device.CPU);
        assertThat(Device.parse("CUDA")).isEqualTo(Device.CUDA);
        assertThat(Device.parse(" Auto ")).isEqualTo(Device.AUTO);
        assertThatThrownBy(() -> Device.parse("gpu"))
                .hasMessage("unknown device 'gpu': expected cpu, cuda or auto");
    }

    @Test
    void autoTakesTheGpuWhenOneIsVisibleAndElseFallsBackToTheCpuWithTheReason() {
        Device.Choice gpu = Device.AUTO.choose(H200);
        assertThat(gpu.device()).isEqualTo(Device.CUDA);
        assertThat(gpu.reason()).contains("NVIDIA H200").contains("sm_90");

        Device.Choice cpu = Device.AUTO.choose(NO_GPU);
        assertThat(cpu.device()).isEqualTo(Device.CPU);
        assertThat(cpu.reason()).isEqualTo("--device auto: no usable CUDA GPU (the CUDA libraries did not load "
                + "(no jnicudart)), computing on the CPU");
    }

    @Test
    void cudaWithoutAGpuFailsWithOneLineNamingTheReasonAndCpuNeverLooks() {
        assertThatThrownBy(() -> Device.CUDA.choose(NO_GPU))
                .isInstanceOf(Device.UnavailableException.class)
                .hasMessage("--device cuda: no usable CUDA GPU: the CUDA libraries did not load (no jnicudart)");
        assertThat(Device.CUDA.choose(H200).device()).isEqualTo(Device.CUDA);
        assertThat(Device.CPU.choose(H200).device()).isEqualTo(Device.CPU);
        assertThat(Device.CPU.choose(NO_GPU).device()).isEqualTo(Device.CPU);
    }

    @Test
    void onThisMachineWithoutAGpuAutoOpensTheCpuBackendAndLogsWhy() {
        CudaProbe.Result probe = CudaProbe.probe();
        assumeFalse(probe.available(), "a CUDA GPU is visible here: the no-GPU fallback cannot be observed");
        assertThat(probe.reason()).doesNotContain("\n").isNotBlank();
        List<String> log = new ArrayList<>();
        try (Backend be = Device.AUTO.open(1, log::add)) {
            assertThat(be).isInstanceOf(CpuBackend.class);
        }
        assertThat(log).containsExactly("compute: cpu (--device auto: no usable CUDA GPU (" + probe.reason()
                + "), computing on the CPU)");
        assertThatThrownBy(() -> Device.CUDA.open(1, log::add))
                .isInstanceOf(Device.UnavailableException.class)
                .hasMessage("--device cuda: no usable CUDA GPU: " + probe.reason());
        assertThat(log).hasSize(1);
    }

    @Test
    void cpuOpensTheCpuBackend() {
        List<String> log = new ArrayList<>();
        try (Backend be = Device.CPU.open(2, log::add)) {
            assertThat(be.name()).isEqualTo("cpu");
            assertThat(be.threads()).isEqualTo(2);
        }
        assertThat(log).containsExactly("compute: cpu (--device cpu)");
    }
}
