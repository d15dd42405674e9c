package io.qlorastream.engine.compute.cuda;

import org.bytedeco.cuda.cudart.cudaDeviceProp;

import static org.bytedeco.cuda.global.cudart.cudaErrorStubLibrary;
import static org.bytedeco.cuda.global.cudart.cudaGetDeviceCount;
import static org.bytedeco.cuda.global.cudart.cudaGetDeviceProperties;

/**
 * Whether this process can use a CUDA GPU: loads Bytedeco's CUDA runtime bindings (which link the machine's own
 * libcudart) and asks {@code cudaGetDeviceCount}. Every way that can fail (no CUDA libraries, no driver, no device)
 * becomes an "unavailable" answer with a one-line reason, never an exception. Probed once per process.
 */
public final class CudaProbe {
    private CudaProbe() {
    }

    /** The answer: a GPU (device 0's name and compute capability) or the reason there is none. */
    public record Result(boolean available, int deviceCount, String deviceName, int ccMajor, int ccMinor, String reason) {
        public static Result unavailable(String reason) {
            return new Result(false, 0, null, 0, 0, reason);
        }

        public static Result gpu(int count, String name, int major, int minor) {
            return new Result(true, count, name, major, minor,
                    count + " CUDA device(s) visible, using device 0: " + name + " (sm_" + major + minor + ")");
        }
    }

    private static volatile Result cached;

    public static Result probe() {
        Result r = cached;
        if (r == null) {
            synchronized (CudaProbe.class) {
                r = cached;
                if (r == null) {
                    r = probeNow();
                    cached = r;
                }
            }
        }
        return r;
    }

    private static Result probeNow() {
        try {
            int[] count = new int[1];
            int status = cudaGetDeviceCount(count);
            if (status != 0) {
                String failure = CudaStatus.failure(CudaStatus.Api.RUNTIME, "cudaGetDeviceCount", status).getMessage();
                // e.g. the stub libcuda.so.1 the tests compile kernels with (engine/src/test/cuda-stub), or NVIDIA's own
                return Result.unavailable(status == cudaErrorStubLibrary
                        ? failure + ": libcuda.so.1 is a stub, no NVIDIA driver is installed" : failure);
            }
            if (count[0] < 1) {
                return Result.unavailable("cudaGetDeviceCount found no CUDA device");
            }
            try (cudaDeviceProp prop = new cudaDeviceProp()) {
                CudaStatus.runtime("cudaGetDeviceProperties", cudaGetDeviceProperties(prop, 0));
                return Result.gpu(count[0], prop.name().getString().trim(), prop.major(), prop.minor());
            }
        } catch (LinkageError e) {
            // UnsatisfiedLinkError (no libcudart / driver), NoClassDefFoundError or ExceptionInInitializerError
            // (Bytedeco's loader failed before)
            return Result.unavailable("the CUDA libraries did not load (" + firstLine(e) + ")");
        } catch (RuntimeException e) {
            return Result.unavailable("CUDA failed to start (" + firstLine(e) + ")");
        }
    }

    /**
     * The first line of the innermost message, at most 200 chars. Bytedeco's loader reports "no jnicudart in
     * java.library.path" and keeps the real reason (e.g. "libcuda.so.1: cannot open shared object file", no driver)
     * as the cause, prefixed with the path of its extracted JNI library, which is dropped here.
     */
    static String firstLine(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t && t.getCause().getMessage() != null
                && !t.getCause().getMessage().isBlank()) {
            t = t.getCause();
        }
        String m = t.getMessage() == null || t.getMessage().isBlank() ? t.getClass().getSimpleName() : t.getMessage().strip();
        int nl = m.indexOf('\n');
        if (nl >= 0) {
            m = m.substring(0, nl).strip();
        }
        m = m.replaceFirst("^/\\S+\\.so[.0-9]*: ", "");
        return m.length() > 200 ? m.substring(0, 200) + "..." : m;
    }
}
