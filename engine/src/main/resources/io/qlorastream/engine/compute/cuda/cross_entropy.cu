// Softmax cross-entropy over the vocabulary fused with its backward, for one chunk of lm_head rows, as
// io.qlorastream.engine.kernels.CrossEntropy (forward then backward) computes them: logits [rows, vocab] are
// overwritten with dL/dlogits = weight * (softmax - onehot(target)), losses[row] = logsumexp - logit[target]; rows
// whose target is -100 get loss 0 and a zero gradient. Targets were range-checked on the host. One block per row;
// the max in float, the sum of exponentials in double, as on the CPU.

#define CE_THREADS 256

__device__ double ce_block_sum(double v, double* shared) {
    int tid = threadIdx.x;
    shared[tid] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) {
            shared[tid] += shared[tid + s];
        }
        __syncthreads();
    }
    double total = shared[0];
    __syncthreads();
    return total;
}

__device__ float ce_block_max(float v, float* shared) {
    int tid = threadIdx.x;
    shared[tid] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) {
            shared[tid] = fmaxf(shared[tid], shared[tid + s]);
        }
        __syncthreads();
    }
    float m = shared[0];
    __syncthreads();
    return m;
}

extern "C" __global__ void cross_entropy_forward_backward(float* __restrict__ logits, float* __restrict__ losses,
                                                          const int* __restrict__ targets, int vocab, float weight) {
    __shared__ double sums[CE_THREADS];
    __shared__ float maxes[CE_THREADS];
    long long r = blockIdx.x;
    float* row = logits + r * vocab;
    int target = targets[r];
    if (target == -100) {
        for (int j = threadIdx.x; j < vocab; j += blockDim.x) {
            row[j] = 0.0f;
        }
        if (threadIdx.x == 0) {
            losses[r] = 0.0f;
        }
        return;
    }
    float mx = __int_as_float(0xff800000); // -infinity (NVRTC has no math.h INFINITY)
    for (int j = threadIdx.x; j < vocab; j += blockDim.x) {
        mx = fmaxf(mx, row[j]);
    }
    mx = ce_block_max(mx, maxes);
    double sum = 0.0;
    for (int j = threadIdx.x; j < vocab; j += blockDim.x) {
        sum += exp((double) (row[j] - mx));
    }
    sum = ce_block_sum(sum, sums);
    double logSum = mx + log(sum);
    if (threadIdx.x == 0) {
        losses[r] = (float) (logSum - row[target]);
    }
    // every thread has read row[target] above before any thread overwrites it
    __syncthreads();
    for (int j = threadIdx.x; j < vocab; j += blockDim.x) {
        float prob = (float) exp((double) row[j] - logSum);
        row[j] = __fmul_rn(weight, __fsub_rn(prob, j == target ? 1.0f : 0.0f));
    }
}
