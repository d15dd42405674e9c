package io.qlorastream.engine.compute.device;

import io.qlorastream.engine.compute.Backend;
import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.compute.cuda.CudaBackend;
import io.qlorastream.engine.compute.cuda.CudaProbe;

import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Where the engine computes: {@code cpu}, {@code cuda} (device 0; fails when no GPU is usable) or {@code auto} (CUDA
 * when a GPU is visible, else the CPU). {@link #open} logs the choice and its reason once.
 */
public enum Device {
    CPU, CUDA, AUTO;

    /** The device of a command-line value, case-insensitive. */
    public static Device parse(String value) {
        for (Device d : values()) {
            if (d.label().equalsIgnoreCase(value == null ? "" : value.strip())) {
                return d;
            }
        }
        throw new IllegalArgumentException("unknown device '" + value + "': expected cpu, cuda or auto");
    }

    /** The lower-case name used on the command line. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The backend a request resolves to ({@link #CPU} or {@link #CUDA}) and why. */
    public record Choice(Device device, String reason) {
    }

    /** No usable GPU for {@code --device cuda}: one line naming the reason. */
    public static final class UnavailableException extends RuntimeException {
        public UnavailableException(String message) {
            super(message);
        }
    }

    /**
     * Resolves this request against what a probe found (a function of both, so it is testable without a GPU);
     * throws {@link UnavailableException} for {@link #CUDA} without a GPU.
     */
    public Choice choose(CudaProbe.Result gpu) {
        return switch (this) {
            case CPU -> new Choice(CPU, "--device cpu");
            case CUDA -> {
                if (!gpu.available()) {
                    throw new UnavailableException("--device cuda: no usable CUDA GPU: " + gpu.reason());
                }
                yield new Choice(CUDA, "--device cuda: " + gpu.reason());
            }
            case AUTO -> gpu.available()
                    ? new Choice(CUDA, "--device auto: " + gpu.reason())
                    : new Choice(CPU, "--device auto: no usable CUDA GPU (" + gpu.reason() + "), computing on the CPU");
        };
    }

    /** Opens the backend for this request with {@code threads} CPU threads, logging the choice to {@code log}. */
    public Backend open(int threads, Consumer<String> log) {
        // cpu never touches the CUDA libraries, not even to probe them
        Supplier<CudaProbe.Result> probe = this == CPU ? () -> CudaProbe.Result.unavailable("not probed") : CudaProbe::probe;
        Choice choice = choose(probe.get());
        Backend backend = choice.device() == CUDA ? CudaBackend.open(threads) : new CpuBackend(threads);
        log.accept("compute: " + choice.device().label() + " (" + choice.reason() + ")");
        return backend;
    }
}
