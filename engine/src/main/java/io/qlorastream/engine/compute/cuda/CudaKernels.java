package io.qlorastream.engine.compute.cuda;

import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.nvrtc._nvrtcProgram;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.bytedeco.cuda.global.cudart.cuLaunchKernel;
import static org.bytedeco.cuda.global.cudart.cuModuleGetFunction;
import static org.bytedeco.cuda.global.cudart.cuModuleLoadData;
import static org.bytedeco.cuda.global.cudart.cuModuleUnload;
import static org.bytedeco.cuda.global.nvrtc.nvrtcCompileProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcCreateProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcDestroyProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetCUBIN;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetCUBINSize;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetProgramLog;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetProgramLogSize;

/**
 * The engine's CUDA C kernels: sources kept as resources next to this class ({@link #SOURCES}), compiled at run time
 * by NVRTC into a cubin for the device's own architecture, loaded and launched through the driver API in the current
 * (runtime's primary) context. Each source file becomes one module; a kernel is found by its {@code extern "C"} name.
 * <p>
 * Every module is compiled with {@code --fmad=false}: the kernels mirror the CPU code operation for operation, and
 * a contracted multiply-add would round differently from Java's float arithmetic (NF4 must match bit for bit).
 */
public final class CudaKernels implements AutoCloseable {
    /** The kernel source files (resources beside this class) and the kernels each defines. */
    public static final Map<String, List<String>> SOURCES = Map.ofEntries(
            Map.entry("nf4.cu", List.of("nf4_dequantize", "nf4_dequantize_dq", "nf4_dequantize_bf16", "nf4_dequantize_dq_bf16")),
            Map.entry("rmsnorm.cu", List.of("rmsnorm_forward", "rmsnorm_backward")),
            Map.entry("swiglu.cu", List.of("swiglu_forward", "swiglu_backward", "geglu_tanh_forward", "geglu_tanh_backward")),
            Map.entry("adamw.cu", List.of("adamw_step")),
            // the GPU-resident training path (CudaTrainingModel)
            Map.entry("convert.cu", List.of("f32_to_bf16", "add_f32", "add_bias_f32", "scale_f32")),
            Map.entry("embedding.cu", List.of("embedding_forward", "embedding_forward_f32")),
            Map.entry("rope.cu", List.of("rope_rotate")),
            Map.entry("attention.cu", List.of("causal_softmax_forward", "causal_softmax_backward")),
            Map.entry("cross_entropy.cu", List.of("cross_entropy_forward_backward")),
            Map.entry("lora_dropout.cu", List.of("lora_dropout_forward", "lora_dropout_backward")),
            Map.entry("gradnorm.cu", List.of("sumsq_partials")));

    public static final int THREADS = 256;
    /** Grid-stride loops cover any size; more blocks than this buys nothing on one GPU. */
    private static final int MAX_BLOCKS = 65535;

    private final List<CUmod_st> modules = new ArrayList<>();
    private final Map<String, CUfunc_st> functions = new HashMap<>();

    /** Compiles and loads every source for compute capability {@code major.minor} (the current device's). */
    public CudaKernels(int ccMajor, int ccMinor) {
        try {
            for (Map.Entry<String, List<String>> source : SOURCES.entrySet()) {
                byte[] cubin = compile(source.getKey(), source(source.getKey()), ccMajor, ccMinor);
                CUmod_st module = new CUmod_st();
                try (BytePointer image = new BytePointer(cubin)) {
                    CudaStatus.driver("cuModuleLoadData(" + source.getKey() + ")", cuModuleLoadData(module, image));
                }
                modules.add(module);
                for (String kernel : source.getValue()) {
                    CUfunc_st f = new CUfunc_st();
                    CudaStatus.driver("cuModuleGetFunction(" + kernel + ")", cuModuleGetFunction(f, module, kernel));
                    functions.put(kernel, f);
                }
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** The text of a kernel source resource. */
    public static String source(String file) {
        try (InputStream in = CudaKernels.class.getResourceAsStream(file)) {
            if (in == null) {
                throw new IllegalStateException("CUDA kernel source " + file + " is missing from the engine jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** NVRTC options used for every module. */
    static String[] options(int ccMajor, int ccMinor) {
        return new String[]{"--gpu-architecture=sm_" + ccMajor + ccMinor, "--fmad=false", "--std=c++17"};
    }

    /** Headers the sources may {@code #include}, resources next to the sources, handed to NVRTC with every program. */
    public static final List<String> HEADERS = List.of("common.cuh");

    /** Compiles one source to a cubin; a compilation error carries NVRTC's log. */
    static byte[] compile(String name, String source, int ccMajor, int ccMinor) {
        _nvrtcProgram program = new _nvrtcProgram();
        String[] headerTexts = HEADERS.stream().map(CudaKernels::source).toArray(String[]::new);
        try (PointerPointer<BytePointer> headers = new PointerPointer<>(headerTexts);
             PointerPointer<BytePointer> includeNames = new PointerPointer<>(HEADERS.toArray(String[]::new))) {
            CudaStatus.nvrtc("nvrtcCreateProgram(" + name + ")",
                    nvrtcCreateProgram(program, new BytePointer(source), new BytePointer(name), HEADERS.size(),
                            headers, includeNames));
        }
        try {
            String[] opts = options(ccMajor, ccMinor);
            try (PointerPointer<BytePointer> options = new PointerPointer<>(opts)) {
                int status = nvrtcCompileProgram(program, opts.length, options);
                if (status != 0) {
                    CudaException failure = CudaStatus.failure(CudaStatus.Api.NVRTC, "nvrtcCompileProgram(" + name + ")", status);
                    throw new CudaException(failure.getMessage() + ": " + log(program).strip(), failure);
                }
            }
            try (SizeTPointer size = new SizeTPointer(1)) {
                CudaStatus.nvrtc("nvrtcGetCUBINSize", nvrtcGetCUBINSize(program, size));
                byte[] cubin = new byte[(int) size.get()];
                CudaStatus.nvrtc("nvrtcGetCUBIN", nvrtcGetCUBIN(program, cubin));
                return cubin;
            }
        } finally {
            CudaStatus.nvrtc("nvrtcDestroyProgram", nvrtcDestroyProgram(program));
        }
    }

    private static String log(_nvrtcProgram program) {
        try (SizeTPointer size = new SizeTPointer(1)) {
            if (nvrtcGetProgramLogSize(program, size) != 0) {
                return "(no log)";
            }
            byte[] log = new byte[(int) size.get()];
            if (nvrtcGetProgramLog(program, log) != 0) {
                return "(no log)";
            }
            return new String(log, 0, Math.max(0, log.length - 1), StandardCharsets.UTF_8);
        }
    }

    /**
     * A kernel's arguments in order, as raw 64-bit slots (an int or float in the low bytes: the slot is little-endian
     * and the driver reads each parameter by its own size). Plain Java: {@link #launch} copies the slots into native
     * memory this instance allocated once, so a launch allocates nothing natively (a training step issues thousands).
     */
    public static final class Args implements AutoCloseable {
        private long[] slots = new long[16];
        private int count;

        private Args add(long bits) {
            if (count == slots.length) {
                slots = java.util.Arrays.copyOf(slots, 2 * count);
            }
            slots[count++] = bits;
            return this;
        }

        public Args ptr(DeviceBuffer b) {
            return ptr(b.address());
        }

        /** A device pointer {@code offsetFloats} floats into b. */
        public Args ptr(DeviceBuffer b, long offsetFloats) {
            return ptr(b.address() + offsetFloats * Float.BYTES);
        }

        public Args ptr(long deviceAddress) {
            return add(deviceAddress);
        }

        public Args i32(int v) {
            return add(v & 0xffffffffL);
        }

        public Args i64(long v) {
            return add(v);
        }

        /** An unsigned 64-bit value (a dropout key): the same bits as a long. */
        public Args u64(long v) {
            return add(v);
        }

        public Args f32(float v) {
            return add(Float.floatToRawIntBits(v) & 0xffffffffL);
        }

        public Args f64(double v) {
            return add(Double.doubleToRawLongBits(v));
        }

        int count() {
            return count;
        }

        long slot(int i) {
            return slots[i];
        }

        @Override
        public void close() {
            // nothing native to free; kept so call sites scope their arguments
        }
    }

    /**
     * The native memory of kernel arguments, allocated once and grown on demand: one 64-bit slot per argument and the
     * array of pointers to the slots that cuLaunchKernel reads.
     */
    static final class ArgBlock implements AutoCloseable {
        private LongPointer slots;
        private PointerPointer<Pointer> params;
        private int capacity;

        /** The argument pointer array holding {@code args}, valid until the next call. */
        PointerPointer<Pointer> fill(Args args) {
            int n = args.count();
            if (n > capacity) {
                close();
                capacity = Math.max(32, n);
                slots = new LongPointer(capacity);
                // its own native array of void*: (new PointerPointer<>(somePointer) would be the varargs constructor)
                params = new PointerPointer<>(capacity);
                for (int i = 0; i < capacity; i++) {
                    params.put(i, new Slot(slots.address() + (long) i * Long.BYTES));
                }
            }
            for (int i = 0; i < n; i++) {
                slots.put(i, args.slot(i));
            }
            return params;
        }

        @Override
        public void close() {
            if (slots != null) {
                slots.close();
                params.close();
                slots = null;
                params = null;
                capacity = 0;
            }
        }
    }

    /** A pointer at one argument slot (position 0: the exact address goes into the parameter array). */
    private static final class Slot extends Pointer {
        Slot(long address) {
            this.address = address;
        }
    }

    private final ArgBlock argBlock = new ArgBlock();

    /**
     * Launches {@code kernel} on the default stream with the given grid and block (x only) and arguments; the driver
     * copies the arguments at the launch, so the slots are free again when this returns. Not thread-safe (callers
     * hold the backend's lock or are the single training thread).
     */
    public synchronized void launch(String kernel, int gridX, int blockX, Args args) {
        CUfunc_st f = functions.get(kernel);
        if (f == null) {
            throw new IllegalArgumentException("no CUDA kernel " + kernel);
        }
        CudaStatus.driver("cuLaunchKernel(" + kernel + ")",
                cuLaunchKernel(f, gridX, 1, 1, blockX, 1, 1, 0, null, argBlock.fill(args), null));
    }

    /** Launches an element-wise (grid-stride) kernel over {@code n} elements. */
    public void launchElementwise(String kernel, long n, Args args) {
        int blocks = (int) Math.max(1, Math.min(MAX_BLOCKS, (n + THREADS - 1) / THREADS));
        launch(kernel, blocks, THREADS, args);
    }

    @Override
    public synchronized void close() {
        argBlock.close();
        functions.clear();
        for (CUmod_st m : modules) {
            CudaStatus.driver("cuModuleUnload", cuModuleUnload(m));
        }
        modules.clear();
    }

    /**
     * The arguments of {@code adamw_step} over n elements at the given device addresses, with the scalars derived
     * exactly as the CPU optimizer ({@code AdamW.step}) derives them ({@code step}: the step count after this step,
     * 1 for the first).
     */
    public static Args adamwArgs(long params, long grads, long expAvg, long expAvgSq, long n, double weightDecay,
                                 double beta1, double beta2, double eps, double lr, long step) {
        float decay = (float) (1 - lr * weightDecay);
        float oneMinusBeta1 = (float) (1 - beta1);
        float oneMinusBeta2 = (float) (1 - beta2);
        double biasCorrection1 = 1 - Math.pow(beta1, step);
        double biasCorrection2 = 1 - Math.pow(beta2, step);
        float negStepSize = (float) -(lr / biasCorrection1);
        float biasCorrection2Sqrt = (float) Math.sqrt(biasCorrection2);
        return new Args().ptr(params).ptr(grads).ptr(expAvg).ptr(expAvgSq).i64(n)
                .i32(weightDecay != 0 ? 1 : 0).f32(decay).f32(oneMinusBeta1).f32((float) beta2).f32(oneMinusBeta2)
                .f32(negStepSize).f32(biasCorrection2Sqrt).f32((float) eps);
    }
}
