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
