// Token embedding lookup (Embedding.forward): out[i, :] = table[tokens[i], :] for a table held as bf16 bits on the GPU
// (a BF16 checkpoint's table exactly; widening bf16 -> fp32 is exact). Token ids were range-checked on the host.
// One block per token row.

extern "C" __global__ void embedding_forward(float* __restrict__ out, const int* __restrict__ tokens,
                                             const unsigned short* __restrict__ table, int c) {
    long long row = blockIdx.x;
    long long src = (long long) tokens[row] * c;
    for (int j = threadIdx.x; j < c; j += blockDim.x) {
        out[row * c + j] = __uint_as_float(((unsigned int) table[src + j]) << 16);
    }
}

// The same lookup from an fp32 table (CudaTrainingModel's fp32 precision, for tests that compare with the CPU closely).
extern "C" __global__ void embedding_forward_f32(float* __restrict__ out, const int* __restrict__ tokens,
                                                 const float* __restrict__ table, int c) {
    long long row = blockIdx.x;
    long long src = (long long) tokens[row] * c;
    for (int j = threadIdx.x; j < c; j += blockDim.x) {
        out[row * c + j] = table[src + j];
    }
}
