package io.qlorastream.app.cli;

import io.qlorastream.engine.compute.Backend;
import io.qlorastream.engine.compute.device.Device;
import picocli.CommandLine.Option;
import picocli.CommandLine;

import java.io.PrintStream;

/**
 * {@code --threads} and {@code --device} for every command that runs the engine (train, score, generate, evaluate,
 * trainer, retrain, evaluator, bench forward/train).
 * <p>
 * The default device is {@code cpu}, not {@code auto}: training on CUDA is GPU-resident (CudaTrainingModel) and scoring runs
 * the large products on the GPU, but neither has been verified on a real GPU yet, so a machine that happens to have
 * one should not switch to it unasked. {@code auto} picks CUDA when a GPU is visible and logs why either way.
 */
public final class ComputeOptions {
    @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
            description = "Compute threads; 0 = one per available processor (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "cpu", converter = DeviceConverter.class,
            description = "cpu, cuda (NVIDIA GPU 0; fails when none is usable) or auto (cuda when a GPU is visible, "
                    + "else cpu; logged at start) (default: ${DEFAULT-VALUE}).")
    Device device;

    public int threads() {
        if (threads < 0) {
            throw new IllegalArgumentException("--threads must be >= 0, got " + threads);
        }
        return threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
    }

    public Device device() {
        return device;
    }

    /** A bad value is a usage error (exit 2) naming the three choices, from the flag, the environment or --config. */
    static final class DeviceConverter implements CommandLine.ITypeConverter<Device> {
        @Override
        public Device convert(String value) {
            try {
                return Device.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    /**
     * Opens the backend, logging the device choice on stderr (stdout may carry a command's data); {@code --device
     * cuda} without a usable GPU fails with one line naming the reason.
     */
    public Backend backend() {
        return backend(System.err);
    }

    public Backend backend(PrintStream log) {
        Device d = device();
        int n = threads();
        return d.open(n, line -> {
            // --device cpu is the default and says nothing new; only a choice that involved the GPU is worth a line
            if (d != Device.CPU) {
                log.println(line);
            }
        });
    }
}
