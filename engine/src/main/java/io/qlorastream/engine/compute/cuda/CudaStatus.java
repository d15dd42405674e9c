package io.qlorastream.engine.compute.cuda;

import java.util.Map;

/**
 * Turns every non-success status of the CUDA runtime, driver, cuBLAS and NVRTC APIs into a {@link CudaException}
 * that names the call: every call in this package goes through one of these checks, none is ignored.
 */
public final class CudaStatus {
    private CudaStatus() {
    }

    /** Which API a status code belongs to (each has its own numbering). */
    public enum Api {
        RUNTIME(CudaStatusNames.RUNTIME),
        DRIVER(CudaStatusNames.DRIVER),
        CUBLAS(CudaStatusNames.CUBLAS),
        NVRTC(CudaStatusNames.NVRTC);

        private final Map<Integer, String> names;

        Api(Map<Integer, String> names) {
            this.names = names;
        }

        /** The status's symbolic name ({@code cudaErrorNoDevice}), or {@code unknown status N}. */
        public String name(int status) {
            String n = names.get(status);
            return n == null ? "unknown " + name().toLowerCase(java.util.Locale.ROOT) + " status " + status : n;
        }
    }

    /** The exception for {@code status} of {@code call}; does not throw (for callers that add context first). */
    public static CudaException failure(Api api, String call, int status) {
        return new CudaException(call, status, call + " failed: " + api.name(status) + " (" + status + ")");
    }

    /** Throws unless {@code status} is 0, the success value of all four APIs. */
    public static void check(Api api, String call, int status) {
        if (status != 0) {
            throw failure(api, call, status);
        }
    }

    public static void runtime(String call, int status) {
        check(Api.RUNTIME, call, status);
    }

    public static void driver(String call, int status) {
        check(Api.DRIVER, call, status);
    }

    public static void cublas(String call, int status) {
        check(Api.CUBLAS, call, status);
    }

    public static void nvrtc(String call, int status) {
        check(Api.NVRTC, call, status);
    }
}
