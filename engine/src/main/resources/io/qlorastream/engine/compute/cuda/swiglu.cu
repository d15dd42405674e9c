// The gated activation of the Llama MLP, h = silu(gate) * up, and its backward, with the formulas of
// io.qlorastream.engine.kernels.SwiGlu; the sigmoid here is in double (exact), the CPU's in float through FastExp, so
// the two agree to about one float ulp.

extern "C" __global__ void swiglu_forward(float* __restrict__ out, const float* __restrict__ gate,
                                          const float* __restrict__ up, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    for (; i < n; i += stride) {
        double g = gate[i];
        out[i] = (float) (g / (1.0 + exp(-g))) * up[i];
    }
}

// dgate += dout * up * silu'(gate), dup += dout * silu(gate); silu'(x) = s (1 + x (1 - s)), s = sigmoid(x)
extern "C" __global__ void swiglu_backward(float* __restrict__ dgate, float* __restrict__ dup,
                                           const float* __restrict__ dout, const float* __restrict__ gate,
                                           const float* __restrict__ up, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    for (; i < n; i += stride) {
        double g = gate[i];
        double s = 1.0 / (1.0 + exp(-g));
        dgate[i] += (float) ((double) (dout[i] * up[i]) * s * (1.0 + g * (1.0 - s)));
        dup[i] += (float) ((double) dout[i] * g * s);
    }
}
