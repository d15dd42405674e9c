// The squared global norm of the adapter's gradients (GradClip.globalNorm) in double: every block of a fixed grid
// sums a grid-stride share of the elements and writes one partial; the host adds the partials in block order. The
// grid size and the reduction order are fixed, so the norm is deterministic run to run (it differs from the CPU's
// sequential sum only in the last bits of a double). The clip itself is scale_f32 (convert.cu) with the float
// coefficient GradClip computes on the host.

#include "common.cuh"

#define NORM_THREADS 256

extern "C" __global__ void sumsq_partials(const float* __restrict__ g, long long n, double* __restrict__ partials) {
    __shared__ double shared[NORM_THREADS];
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    double s = 0.0;
    for (; i < n; i += stride) {
        double v = g[i];
        s += v * v;
    }
    double total = block_sum_double(s, shared);
    if (threadIdx.x == 0) {
        partials[blockIdx.x] = total;
    }
}
