// Element-wise helpers of the GPU-resident training path (CudaTrainingModel), each the GPU twin of a line of Java in
// LlamaModel / Residual / GradClip: fp32 -> bf16 conversion of a product's activation input, residual add, bias
// add, scaling. Grid-stride loops: any n with a bounded grid.

#include "common.cuh"

// A product's fp32 activations as the bf16 input of cublasGemmEx (QLoRA computes its products in bf16).
extern "C" __global__ void f32_to_bf16(unsigned short* __restrict__ out, const float* __restrict__ x, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    for (; i < n; i += stride) {
        out[i] = float_to_bf16_bits(x[i]);
    }
}

// out = a + b (Residual.forward); out may alias a or b.
extern "C" __global__ void add_f32(float* out, const float* a, const float* b, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    for (; i < n; i += stride) {
        out[i] = a[i] + b[i];
    }
}

// y[row, j] += bias[j] for y [rows, cols] (the projections' optional bias, as CudaBackend.linearForward adds it).
extern "C" __global__ void add_bias_f32(float* __restrict__ y, const float* __restrict__ bias, int cols, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    for (; i < n; i += stride) {
        y[i] += bias[i % cols];
    }
}

// x *= c (GradClip's scaling of every gradient by the clip coefficient, a float as on the CPU).
extern "C" __global__ void scale_f32(float* __restrict__ x, float c, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    for (; i < n; i += stride) {
        x[i] *= c;
    }
}
