// Softmax cross-entropy over the vocabulary fused with its backward, for one chunk of lm_head rows, as
// io.qlorastream.engine.kernels.CrossEntropy (forward then backward) computes them: logits [rows, vocab] are
// overwritten with dL/dlogits = weight * (softmax - onehot(target)), losses[row] = logsumexp - logit[target]; rows
// whose target is -100 get loss 0 and a zero gradient. Targets were range-checked on the host. One block per row;
// the max in float, the sum of exponentials in double, as on the CPU.

#include "common.cuh"

#define CE_THREADS 256

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
    mx = block_max_float(mx, maxes);
    double sum = 0.0;
    for (int j = threadIdx.x; j < vocab; j += blockDim.x) {
        sum += exp((double) (row[j] - mx));
    }
    sum = block_sum_double(sum, sums);
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
