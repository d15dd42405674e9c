// NF4 dequantization, element for element as io.qlorastream.engine.quant.Nf4Tensor#dequantizeRows computes it on
// the CPU, so the two agree bit for bit: value = code[nibble] * absmax(block), element 2i in the HIGH nibble of
// byte i. With double quantization absmax(block) = nestedMap[qabsmax[block]] * nestedAbsmax[block / nestedBlock]
// + nestedOffset, one float multiply then one float add, each rounded (the explicit __fmul_rn/__fadd_rn keep the
// compiler from contracting them into an FMA, which the Java side never does).
// Elements [start, start + count) of the flattened row-major weight go to out[0, count).

extern "C" __global__ void nf4_dequantize(const unsigned char* __restrict__ packed,
                                          const float* __restrict__ absmax,
                                          const float* __restrict__ code,
                                          int blockSize, long long start, long long count,
                                          float* __restrict__ out) {
    long long t = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    for (; t < count; t += stride) {
        long long i = start + t;
        unsigned int b = packed[i >> 1];
        unsigned int nibble = (i & 1) ? (b & 15u) : (b >> 4);
        out[t] = __fmul_rn(code[nibble], absmax[i / blockSize]);
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
        long long i = start + t;
        long long block = i / blockSize;
        float scale = __fadd_rn(__fmul_rn(nestedMap[qabsmax[block]], nestedAbsmax[block / nestedBlockSize]), nestedOffset);
        unsigned int b = packed[i >> 1];
        unsigned int nibble = (i & 1) ? (b & 15u) : (b >> 4);
        out[t] = __fmul_rn(code[nibble], scale);
    }
}

// The same dequantization rounded to bfloat16 (round to nearest even, as Floats.floatToBf16), for the bf16 products
// of the GPU-resident training path (CudaTrainingModel): the fp32 value above, then one rounding, so the bf16 weight
// equals what torch's bf16 compute dtype would see. out holds raw bf16 bits (cuBLAS reads them as CUDA_R_16BF); the
// bit arithmetic avoids depending on cuda_bf16.h being available to NVRTC.

__device__ __forceinline__ unsigned short nf4_to_bf16_bits(float f) {
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return (unsigned short) ((u >> 16) | 0x40u);
    }
    u += 0x7fffu + ((u >> 16) & 1u);
    return (unsigned short) (u >> 16);
}

extern "C" __global__ void nf4_dequantize_bf16(const unsigned char* __restrict__ packed,
                                               const float* __restrict__ absmax,
                                               const float* __restrict__ code,
                                               int blockSize, long long start, long long count,
                                               unsigned short* __restrict__ out) {
    long long t = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    for (; t < count; t += stride) {
        long long i = start + t;
        unsigned int b = packed[i >> 1];
        unsigned int nibble = (i & 1) ? (b & 15u) : (b >> 4);
        out[t] = nf4_to_bf16_bits(__fmul_rn(code[nibble], absmax[i / blockSize]));
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
        long long i = start + t;
        long long block = i / blockSize;
        float scale = __fadd_rn(__fmul_rn(nestedMap[qabsmax[block]], nestedAbsmax[block / nestedBlockSize]), nestedOffset);
        unsigned int b = packed[i >> 1];
        unsigned int nibble = (i & 1) ? (b & 15u) : (b >> 4);
        out[t] = nf4_to_bf16_bits(__fmul_rn(code[nibble], scale));
    }
}
