package io.qlorastream.engine.compute.cuda;

/**
 * A CUDA call that did not succeed: the message names the call and its status, e.g.
 * {@code cublasSgemm_v2 failed: CUBLAS_STATUS_EXECUTION_FAILED (13)}.
 */
public final class CudaException extends RuntimeException {
    private final String call;
    private final int status;

    public CudaException(String call, int status, String message) {
        super(message);
        this.call = call;
        this.status = status;
    }

    public CudaException(String message, Throwable cause) {
        super(message, cause);
        this.call = null;
        this.status = 0;
    }

    /** The API function that failed (null when the failure was not a status code, e.g. the library did not load). */
    public String call() {
        return call;
    }

    /** The status it returned (0 when the failure was not a status code). */
    public int status() {
        return status;
    }
}
