// LoRA dropout with io.qlorastream.engine.lora.LoraDropout's counter-based masks, bit for bit: element i of the
// stream `key` (a host-computed function of seed, micro-batch counter, layer and projection) is kept iff
// (mix64(key + i * 0x9E3779B97F4A7C15) >>> 40) * 2^-24 >= p, mix64 being SplitMix64's finaliser (Rng.mix64), all in
// wrapping 64-bit arithmetic as Java's long. Kept elements are scaled by keepScale = (float) (1 / (1 - p)). The GPU
// and the CPU therefore drop the same elements, and a recomputed block (activation checkpointing) or the backward
// sees the forward's mask without storing it.

__host__ __device__ __forceinline__ unsigned long long lora_mix64(unsigned long long z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

__host__ __device__ __forceinline__ bool lora_keeps(unsigned long long key, long long i, double p) {
    unsigned long long h = lora_mix64(key + (unsigned long long) i * 0x9E3779B97F4A7C15ULL);
    return (double) (h >> 40) * 0x1p-24 >= p;
}

// out[i] = keep ? x[i] * keepScale : 0 (LoraDropout.forward)
extern "C" __global__ void lora_dropout_forward(float* __restrict__ out, const float* __restrict__ x, long long n,
                                                unsigned long long key, double p, float keepScale) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    for (; i < n; i += stride) {
        out[i] = lora_keeps(key, i, p) ? __fmul_rn(x[i], keepScale) : 0.0f;
    }
}

// dx[i] += keep ? dOut[i] * keepScale : 0 (LoraDropout.backward)
extern "C" __global__ void lora_dropout_backward(float* __restrict__ dx, const float* __restrict__ dOut, long long n,
                                                 unsigned long long key, double p, float keepScale) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    for (; i < n; i += stride) {
        if (lora_keeps(key, i, p)) {
            dx[i] += __fmul_rn(dOut[i], keepScale);
        }
    }
}
