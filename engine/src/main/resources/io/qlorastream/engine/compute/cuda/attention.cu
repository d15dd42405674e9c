// The causal, key-masked softmax of attention and its backward, row for row as io.qlorastream.engine.kernels.Attention
// (softmaxRow, softmaxBackwardRow); the products around it (Q K^T, P V and their gradients) are cuBLAS strided-batched
// sgemms issued by CudaTrainingModel. probs is [batch, heads, T, T] (queries and keys of one micro-batch: tq = tk = T);
// row r is query i = r % T of batch b = r / (heads * T) and sees keys j <= i whose mask is 1 (mask [batch, T], or null
// for no padding) and, with a sliding window W > 0 (Mistral, Gemma's local layers), only those with i - j < W. One block of SOFTMAX_THREADS threads per row; sums in double as on the CPU, reduced in shared memory.

#include "common.cuh"

#define SOFTMAX_THREADS 256

// The first key query i sees: i - W + 1 inside a window W > 0, else 0.
__device__ __forceinline__ int window_start(int i, int window) {
    return window > 0 && i - window + 1 > 0 ? i - window + 1 : 0;
}

// In place: scores (already scaled in the product: 1/sqrt(d), or query_pre_attn_scalar^-1/2) -> probabilities; disallowed keys get 0.
extern "C" __global__ void causal_softmax_forward(float* __restrict__ p, const int* __restrict__ mask, int heads, int T,
                                                  int window) {
    __shared__ double sums[SOFTMAX_THREADS];
    __shared__ float maxes[SOFTMAX_THREADS];
    long long r = blockIdx.x;
    int i = (int) (r % T);
    int b = (int) (r / ((long long) heads * T));
    float* row = p + r * T;
    const int* m = mask == nullptr ? nullptr : mask + (long long) b * T;
    int start = window_start(i, window);
    float mx = __int_as_float(0xff800000); // -infinity (NVRTC has no math.h INFINITY)
    for (int j = start + threadIdx.x; j <= i; j += blockDim.x) {
        if (m == nullptr || m[j] != 0) {
            mx = fmaxf(mx, row[j]);
        }
    }
    mx = block_max_float(mx, maxes);
    double sum = 0.0;
    for (int j = threadIdx.x; j < T; j += blockDim.x) {
        if (j >= start && j <= i && (m == nullptr || m[j] != 0)) {
            float e = (float) exp((double) (row[j] - mx));
            row[j] = e;
            sum += e;
        } else {
            row[j] = 0.0f;
        }
    }
    sum = block_sum_double(sum, sums);
    if (sum > 0) {
        float inv = (float) (1.0 / sum);
        for (int j = start + threadIdx.x; j <= i; j += blockDim.x) {
            row[j] *= inv;
        }
    }
}

// In place over dp: dscore = p (dp - sum_j p_j dp_j) * scale for the keys query i sees (start <= j <= i), 0 elsewhere
// (their p is 0).
extern "C" __global__ void causal_softmax_backward(float* __restrict__ dp, const float* __restrict__ p, int T, float scale,
                                                   int window) {
    __shared__ double sums[SOFTMAX_THREADS];
    long long r = blockIdx.x;
    int i = (int) (r % T);
    int start = window_start(i, window);
    int end = i + 1 < T ? i + 1 : T;
    float* drow = dp + r * T;
    const float* prow = p + r * T;
    double dot = 0.0;
    for (int j = start + threadIdx.x; j < end; j += blockDim.x) {
        dot += (double) prow[j] * drow[j];
    }
    dot = block_sum_double(dot, sums);
    for (int j = threadIdx.x; j < T; j += blockDim.x) {
        drow[j] = j >= start && j < end ? __fmul_rn((float) (prow[j] * (drow[j] - dot)), scale) : 0.0f;
    }
}
