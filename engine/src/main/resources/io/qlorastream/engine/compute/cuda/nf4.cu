// NF4 dequantization, element for element as io.qlorastream.engine.quant.Nf4Tensor#dequantizeRows computes it on
// the CPU, so the two agree bit for bit: value = code[nibble] * absmax(block), element 2i in the HIGH nibble of
// byte i. With double quantization absmax(block) = nestedMap[qabsmax[block]] * nestedAbsmax[block / nestedBlock]
// + nestedOffset, one float multiply then one float add, each rounded (the explicit __fmul_rn/__fadd_rn keep the
// compiler from contracting them into an FMA, which the Java side never does).
// Elements [start, start + count) of the flattened row-major weight go to out[0, count).

#include "common.cuh"

// The code value of element i: its nibble (element 2i high, 2i + 1 low) looked up in the code table.
__device__ __forceinline__ float nf4_code(const unsigned char* __restrict__ packed, const float* __restrict__ code,
                                          long long i) {
    unsigned int b = packed[i >> 1];
    return code[(i & 1) ? (b & 15u) : (b >> 4)];
}

// Element i of a weight with plain float absmax.
__device__ __forceinline__ float nf4_value(const unsigned char* __restrict__ packed, const float* __restrict__ absmax,
                                           const float* __restrict__ code, int blockSize, long long i) {
    return __fmul_rn(nf4_code(packed, code, i), absmax[i / blockSize]);
}

// Element i of a double-quantized weight (absmax itself 8-bit with a nested float absmax and an offset).
__device__ __forceinline__ float nf4_value_dq(const unsigned char* __restrict__ packed,
                                              const unsigned char* __restrict__ qabsmax,
                                              const float* __restrict__ nestedAbsmax,
                                              const float* __restrict__ nestedMap,
                                              float nestedOffset, int nestedBlockSize,
                                              const float* __restrict__ code, int blockSize, long long i) {
    long long block = i / blockSize;
    float scale = __fadd_rn(__fmul_rn(nestedMap[qabsmax[block]], nestedAbsmax[block / nestedBlockSize]), nestedOffset);
    return __fmul_rn(nf4_code(packed, code, i), scale);
}

extern "C" __global__ void nf4_dequantize(const unsigned char* __restrict__ packed,
                                          const float* __restrict__ absmax,
                                          const float* __restrict__ code,
                                          int blockSize, long long start, long long count,
                                          float* __restrict__ out) {
    long long t = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    for (; t < count; t += stride) {
        out[t] = nf4_value(packed, absmax, code, blockSize, start + t);
    }
}

extern "C" __global__ void nf4_dequantize_dq(const unsigned char* __restrict__ packed,
                                             const unsigned char* __restrict__ qabsmax,
                                             const float* __restrict__ nestedAbsmax,
                                             const float* __restrict__ nestedMap,
                                             float nestedOffset, int nestedBlockSize,
                                             const float* __restrict__ code,
                                             int blockSize, long long start, long long count,
                                             float* __restrict__ out) {
    long long t = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    for (; t < count; t += stride) {
        out[t] = nf4_value_dq(packed, qabsmax, nestedAbsmax, nestedMap, nestedOffset, nestedBlockSize, code, blockSize,
                              start + t);
    }
}

// The same dequantization rounded to bfloat16 (round to nearest even, as Floats.floatToBf16), for the bf16 products
// of the GPU-resident training path (CudaTrainingModel): the fp32 value above, then one rounding, so the bf16 weight
// equals what torch's bf16 compute dtype would see. out holds raw bf16 bits (cuBLAS reads them as CUDA_R_16BF).

extern "C" __global__ void nf4_dequantize_bf16(const unsigned char* __restrict__ packed,
                                               const float* __restrict__ absmax,
                                               const float* __restrict__ code,
                                               int blockSize, long long start, long long count,
                                               unsigned short* __restrict__ out) {
    long long t = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    for (; t < count; t += stride) {
        out[t] = float_to_bf16_bits(nf4_value(packed, absmax, code, blockSize, start + t));
    }
}

extern "C" __global__ void nf4_dequantize_dq_bf16(const unsigned char* __restrict__ packed,
                                                  const unsigned char* __restrict__ qabsmax,
                                                  const float* __restrict__ nestedAbsmax,
                                                  const float* __restrict__ nestedMap,
                                                  float nestedOffset, int nestedBlockSize,
                                                  const float* __restrict__ code,
                                                  int blockSize, long long start, long long count,
                                                  unsigned short* __restrict__ out) {
    long long t = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    for (; t < count; t += stride) {
        out[t] = float_to_bf16_bits(nf4_value_dq(packed, qabsmax, nestedAbsmax, nestedMap, nestedOffset,
                                                 nestedBlockSize, code, blockSize, start + t));
    }
}
