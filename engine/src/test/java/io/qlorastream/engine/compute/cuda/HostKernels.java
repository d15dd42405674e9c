package io.qlorastream.engine.compute.cuda;

import io.qlorastream.engine.optim.AdamW;

/**
 * CUDA kernels run once on host arrays (upload, launch, download) on a backend's GPU, so a test can hold each against
 * its CPU kernel; the model runs them only on device buffers, through the training layer.
 */
final class HostKernels {
    private final CudaBackend backend;

    HostKernels(CudaBackend backend) {
        this.backend = backend;
    }

    /** {@link io.qlorastream.engine.kernels.RmsNorm#forward} on the GPU. */
    void rmsNormForward(float[] out, float[] rstd, float[] x, float[] w, int n, int c, double eps) {
        backend.enterDevice();
        try (DeviceBuffer dOut = DeviceBuffer.floats((long) n * c); DeviceBuffer dRstd = DeviceBuffer.floats(n);
             DeviceBuffer dX = DeviceBuffer.of(x, 0, n * c); DeviceBuffer dW = DeviceBuffer.of(w, 0, c);
             CudaKernels.Args args = new CudaKernels.Args().ptr(dOut).ptr(dRstd).ptr(dX).ptr(dW).i32(c).f64(eps).f32(0f)) {
            backend.kernels().launch("rmsnorm_forward", n, CudaKernels.THREADS, args);
            dOut.download(0, out, 0, n * c);
            dRstd.download(0, rstd, 0, n);
        }
    }

    /** {@link io.qlorastream.engine.kernels.RmsNorm#backward} on the GPU, without dw (frozen norm weights). */
    void rmsNormBackward(float[] dx, float[] dout, float[] x, float[] w, float[] rstd, int n, int c) {
        backend.enterDevice();
        try (DeviceBuffer dDx = DeviceBuffer.of(dx, 0, n * c); DeviceBuffer dDout = DeviceBuffer.of(dout, 0, n * c);
             DeviceBuffer dX = DeviceBuffer.of(x, 0, n * c); DeviceBuffer dW = DeviceBuffer.of(w, 0, c);
             DeviceBuffer dRstd = DeviceBuffer.of(rstd, 0, n);
             CudaKernels.Args args = new CudaKernels.Args().ptr(dDx).ptr(dDout).ptr(dX).ptr(dW).ptr(dRstd).i32(c).f32(0f)) {
            backend.kernels().launch("rmsnorm_backward", n, CudaKernels.THREADS, args);
            dDx.download(0, dx, 0, n * c);
        }
    }

    /** {@link io.qlorastream.engine.kernels.SwiGlu#forward} on the GPU. */
    void swiGluForward(float[] out, float[] gate, float[] up, int n) {
        backend.enterDevice();
        try (DeviceBuffer dOut = DeviceBuffer.floats(n); DeviceBuffer dGate = DeviceBuffer.of(gate, 0, n);
             DeviceBuffer dUp = DeviceBuffer.of(up, 0, n);
             CudaKernels.Args args = new CudaKernels.Args().ptr(dOut).ptr(dGate).ptr(dUp).i64(n)) {
            backend.kernels().launchElementwise("swiglu_forward", n, args);
            dOut.download(0, out, 0, n);
        }
    }

    /** {@link io.qlorastream.engine.kernels.SwiGlu#backward} on the GPU. */
    void swiGluBackward(float[] dgate, float[] dup, float[] dout, float[] gate, float[] up, int n) {
        backend.enterDevice();
        try (DeviceBuffer dDgate = DeviceBuffer.of(dgate, 0, n); DeviceBuffer dDup = DeviceBuffer.of(dup, 0, n);
             DeviceBuffer dDout = DeviceBuffer.of(dout, 0, n); DeviceBuffer dGate = DeviceBuffer.of(gate, 0, n);
             DeviceBuffer dUp = DeviceBuffer.of(up, 0, n);
             CudaKernels.Args args = new CudaKernels.Args().ptr(dDgate).ptr(dDup).ptr(dDout).ptr(dGate).ptr(dUp).i64(n)) {
            backend.kernels().launchElementwise("swiglu_backward", n, args);
            dDgate.download(0, dgate, 0, n);
            dDup.download(0, dup, 0, n);
        }
    }

    /**
     * One {@link AdamW} step on the GPU, as {@link AdamW#step} computes it: {@code step} is the step count after this
     * step (1 for the first); the moments are updated in place.
     */
    void adamwStep(float[] params, float[] grads, float[] expAvg, float[] expAvgSq, AdamW.Config config, double lr, long step) {
        int n = params.length;
        backend.enterDevice();
        try (DeviceBuffer dP = DeviceBuffer.of(params); DeviceBuffer dG = DeviceBuffer.of(grads, 0, n);
             DeviceBuffer dM = DeviceBuffer.of(expAvg, 0, n); DeviceBuffer dV = DeviceBuffer.of(expAvgSq, 0, n);
             CudaKernels.Args args = CudaKernels.adamwArgs(dP.address(), dG.address(), dM.address(), dV.address(), n,
                     config.weightDecay(), config.beta1(), config.beta2(), config.eps(), lr, step)) {
            backend.kernels().launchElementwise("adamw_step", n, args);
            dP.download(0, params, 0, n);
            dM.download(0, expAvg, 0, n);
            dV.download(0, expAvgSq, 0, n);
        }
    }
}
