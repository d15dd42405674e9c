// LoRA dropout with io.qlorastream.engine.lora.LoraDropout's counter-based masks, bit for bit: one 64-bit hash
// h = mix64(key + (i >> 2) * 0x9E3779B97F4A7C15) gives four 16-bit uniforms, element i takes bits 16 (i & 3) up, and
// the element is dropped when its uniform is below dropBelow = round(p * 2^16) (LoraDropout.dropThreshold). key is a
// host-computed function of seed, micro-batch counter, layer and projection; mix64 is SplitMix64's finaliser
// (Rng.mix64), all in wrapping 64-bit arithmetic as Java's long. Kept elements are multiplied by keepScale =
// (float) (1 / (1 - p)), dropped ones by 0 (as the CPU and torch's x * mask / (1 - p): a dropped NaN stays NaN). The GPU
// and the CPU therefore drop the same elements, and a recomputed block (activation checkpointing) or the backward sees
// the forward's mask without storing it.

__host__ __device__ __forceinline__ unsigned long long lora_mix64(unsigned long long z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

__host__ __device__ __forceinline__ bool lora_keeps(unsigned long long key, long long i, int dropBelow) {
    unsigned long long h = lora_mix64(key + (unsigned long long) (i >> 2) * 0x9E3779B97F4A7C15ULL);
    return (int) ((h >> ((i & 3) << 4)) & 0xFFFFULL) >= dropBelow;
}

// out[i] = x[i] * (keep ? keepScale : 0) (LoraDropout.forward)
extern "C" __global__ void lora_dropout_forward(float* __restrict__ out, const float* __restrict__ x, long long n,
                                                unsigned long long key, int dropBelow, float keepScale) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    for (; i < n; i += stride) {
        out[i] = __fmul_rn(x[i], lora_keeps(key, i, dropBelow) ? keepScale : 0.0f);
    }
}

// dx[i] += dOut[i] * (keep ? keepScale : 0) (LoraDropout.backward)
extern "C" __global__ void lora_dropout_backward(float* __restrict__ dx, const float* __restrict__ dOut, long long n,
                                                 unsigned long long key, int dropBelow, float keepScale) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    for (; i < n; i += stride) {
        dx[i] = __fadd_rn(dx[i], __fmul_rn(dOut[i], lora_keeps(key, i, dropBelow) ? keepScale : 0.0f));
    }
}
