// RMSNorm forward and backward as io.qlorastream.engine.kernels.RmsNorm computes them: one thread block per row
// (row length c), the row's sums accumulated in double like the CPU code, reduced in shared memory.
// Launch with blockDim.x = RMSNORM_THREADS (a power of two) and one block per row. The same kernels are the per-head
// norm of q and k (Qwen3, Gemma 3): rows = tokens * heads, c = headDim. w_offset is added to every weight: 0 for
// Llama's w, 1 for Gemma's (1 + w), whose checkpoints store the weight minus one.

#include "common.cuh"

#define RMSNORM_THREADS 256

// out[row, :] = x[row, :] * rstd[row] * (w + w_offset); rstd[row] = 1 / sqrt(mean(x^2) + eps)
extern "C" __global__ void rmsnorm_forward(float* __restrict__ out, float* __restrict__ rstd,
                                           const float* __restrict__ x, const float* __restrict__ w,
                                           int c, double eps, float w_offset) {
    __shared__ double shared[RMSNORM_THREADS];
    long long off = (long long) blockIdx.x * c;
    double ss = 0.0;
    for (int j = threadIdx.x; j < c; j += blockDim.x) {
        double v = (double) x[off + j];
        ss += v * v;
    }
    ss = block_sum_double(ss, shared);
    float r = (float) (1.0 / sqrt(ss / c + eps));
    if (threadIdx.x == 0) {
        rstd[blockIdx.x] = r;
    }
    for (int j = threadIdx.x; j < c; j += blockDim.x) {
        out[off + j] = x[off + j] * r * __fadd_rn(w[j], w_offset);
    }
}

// dx[row, :] += r w dout (w + w_offset as above) - (r^3 / c) x * sum_j(dout_j w_j x_j); the norm weight is frozen (no dw), as in QLoRA.
extern "C" __global__ void rmsnorm_backward(float* __restrict__ dx, const float* __restrict__ dout,
                                            const float* __restrict__ x, const float* __restrict__ w,
                                            const float* __restrict__ rstd, int c, float w_offset) {
    __shared__ double shared[RMSNORM_THREADS];
    long long off = (long long) blockIdx.x * c;
    float r = rstd[blockIdx.x];
    double dot = 0.0;
    for (int j = threadIdx.x; j < c; j += blockDim.x) {
        dot += (double) dout[off + j] * __fadd_rn(w[j], w_offset) * x[off + j];
    }
    dot = block_sum_double(dot, shared);
    float k = (float) (dot * r * r * r / c);
    for (int j = threadIdx.x; j < c; j += blockDim.x) {
        dx[off + j] += r * __fadd_rn(w[j], w_offset) * dout[off + j] - k * x[off + j];
    }
}
