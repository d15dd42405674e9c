// Device helpers shared by several kernel sources (included by them; CudaKernels hands this file to NVRTC as a
// header, and the host replay in engine/src/test/cuda-host finds it on its include path).
#ifndef QLORA_STREAM_COMMON_CUH
#define QLORA_STREAM_COMMON_CUH

// v combined over the block's threads with op by a shared-memory tree (blockDim.x a power of two, shared one T per
// thread); every thread gets the result. The tree's order is fixed, so the result is the same run to run.
template <typename T, typename Op>
__device__ T block_reduce(T v, T* shared, Op op) {
    int tid = threadIdx.x;
    shared[tid] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) {
            shared[tid] = op(shared[tid], shared[tid + s]);
        }
        __syncthreads();
    }
    T result = shared[0];
    __syncthreads();
    return result;
}

struct SumOp {
    __device__ double operator()(double a, double b) const { return a + b; }
};

struct MaxOp {
    __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

// The sum of v over the block's threads, in double (shared one double per thread).
__device__ double block_sum_double(double v, double* shared) {
    return block_reduce(v, shared, SumOp());
}

// The maximum of v over the block's threads (shared one float per thread).
__device__ float block_max_float(float v, float* shared) {
    return block_reduce(v, shared, MaxOp());
}

// float -> bfloat16 bits, round to nearest even, NaN kept quiet: Floats.floatToBf16, bit for bit. Bit arithmetic
// rather than cuda_bf16.h, which NVRTC does not always find.
__device__ __forceinline__ unsigned short float_to_bf16_bits(float f) {
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return (unsigned short) ((u >> 16) | 0x40u);
    }
    u += 0x7fffu + ((u >> 16) & 1u);
    return (unsigned short) (u >> 16);
}

#endif
