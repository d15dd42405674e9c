// Rotary position embedding in Hugging Face's rotate_half layout, as io.qlorastream.engine.kernels.Rope: element f of a
// head pairs with f + d/2; angle = position * invFreq[f] in float, cos/sin of that float angle in double rounded to
// float (Java's (float) Math.cos), x1' = x1 cos - x2 sin, x2' = x2 cos + x1 sin. sign = -1 rotates back (the
// backward: the rotation is orthogonal). Row i of x [rows, heads * headDim] sits at position i % seqLen (right-padded
// batches start every row at 0). One block per row; threads over (head, f).

extern "C" __global__ void rope_rotate(float* __restrict__ x, const float* __restrict__ invFreq, int heads,
                                       int headDim, int seqLen, float sign) {
    int row = blockIdx.x;
    int half = headDim / 2;
    float pos = (float) (row % seqLen);
    long long base = (long long) row * heads * headDim;
    for (int t = threadIdx.x; t < heads * half; t += blockDim.x) {
        int h = t / half;
        int f = t % half;
        float angle = __fmul_rn(pos, invFreq[f]);
        float c = (float) cos((double) angle);
        float s = sign * (float) sin((double) angle);
        long long off = base + (long long) h * headDim;
        float x1 = x[off + f];
        float x2 = x[off + f + half];
        x[off + f] = __fsub_rn(__fmul_rn(x1, c), __fmul_rn(x2, s));
        x[off + f + half] = __fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, s));
    }
}
