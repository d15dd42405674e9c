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

// Gemma's gated activation, h = gelu_tanh(gate) * up (HF's gelu_pytorch_tanh), in double like swiglu above:
// gelu_tanh(x) = x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3).
#define GELU_SQRT_2_OVER_PI 0.7978845608028654
#define GELU_CUBIC 0.044715

extern "C" __global__ void geglu_tanh_forward(float* __restrict__ out, const float* __restrict__ gate,
                                              const float* __restrict__ up, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    for (; i < n; i += stride) {
        double g = gate[i];
        double t = tanh(GELU_SQRT_2_OVER_PI * (g + GELU_CUBIC * g * g * g));
        out[i] = (float) (0.5 * g * (1.0 + t)) * up[i];
    }
}

// dgate += dout * up * gelu_tanh'(gate), dup += dout * gelu_tanh(gate);
// gelu_tanh'(x) = (1 + t)/2 + x/2 (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)
extern "C" __global__ void geglu_tanh_backward(float* __restrict__ dgate, float* __restrict__ dup,
                                               const float* __restrict__ dout, const float* __restrict__ gate,
                                               const float* __restrict__ up, long long n) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    for (; i < n; i += stride) {
        double g = gate[i];
        double t = tanh(GELU_SQRT_2_OVER_PI * (g + GELU_CUBIC * g * g * g));
        double d = 0.5 * (1.0 + t) + 0.5 * g * (1.0 - t * t) * GELU_SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * g * g);
        dgate[i] += (float) ((double) (dout[i] * up[i]) * d);
        dup[i] += (float) ((double) dout[i] * 0.5 * g * (1.0 + t));
    }
}
