// Rotary position embedding in Hugging Face's rotate_half layout, as io.qlorastream.engine.kernels.Rope: element f of a
// head's first rotaryDim elements pairs with f + rotaryDim/2 (rotaryDim = headDim for full rotary; the rest of the
// head passes through, as in Phi's and GLM's partial rotary); angle = position * invFreq[f] in float, cos/sin of that
// float angle in double rounded to float (Java's (float) Math.cos), each times attnFactor (longrope's attention
// scaling; 1 elsewhere), x1' = x1 cos - x2 sin, x2' = x2 cos + x1 sin. sign = -1 gives the backward: the map is
// attnFactor times a rotation, so its transpose is the same factor times the rotation back. Row i of x
// [rows, heads * headDim] sits at position i % seqLen (right-padded batches start every row at 0). One block per row;
// threads over (head, f).

extern "C" __global__ void rope_rotate(float* __restrict__ x, const float* __restrict__ invFreq, int heads,
                                       int headDim, int seqLen, float sign, int rotaryDim, float attnFactor) {
    int row = blockIdx.x;
    int half = rotaryDim / 2;
    float pos = (float) (row % seqLen);
    long long base = (long long) row * heads * headDim;
    for (int t = threadIdx.x; t < heads * half; t += blockDim.x) {
        int h = t / half;
        int f = t % half;
        float angle = __fmul_rn(pos, invFreq[f]);
        float c = __fmul_rn((float) cos((double) angle), attnFactor);
        float s = sign * __fmul_rn((float) sin((double) angle), attnFactor);
        long long off = base + (long long) h * headDim;
        float x1 = x[off + f];
        float x2 = x[off + f + half];
        x[off + f] = __fsub_rn(__fmul_rn(x1, c), __fmul_rn(x2, s));
        x[off + f + half] = __fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, s));
    }
}
