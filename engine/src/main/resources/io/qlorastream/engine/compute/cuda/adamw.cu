// One AdamW step over fp32 parameters, gradients and moments, float for float as io.qlorastream.engine.optim.AdamW
// (PyTorch's single-tensor AdamW): the scalars (decay, 1 - beta1, beta2, 1 - beta2, -lr / bias correction 1,
// sqrt(bias correction 2), eps) come from the host, computed there in double and rounded to float exactly as the
// CPU class does. The module is compiled with --fmad=false so each multiply and add rounds as in Java.

extern "C" __global__ void adamw_step(float* __restrict__ params, const float* __restrict__ grads,
                                      float* __restrict__ expAvg, float* __restrict__ expAvgSq, long long n,
                                      int decays, float decay, float oneMinusBeta1, float beta2,
                                      float oneMinusBeta2, float negStepSize, float biasCorrection2Sqrt,
                                      float eps) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    for (; i < n; i += stride) {
        float g = grads[i];
        float p = decays ? params[i] * decay : params[i];
        float m = expAvg[i];
        m = m + oneMinusBeta1 * (g - m);
        float v = expAvgSq[i] * beta2 + oneMinusBeta2 * g * g;
        expAvg[i] = m;
        expAvgSq[i] = v;
        float denom = sqrtf(v) / biasCorrection2Sqrt + eps;
        params[i] = p + negStepSize * m / denom;
    }
}
