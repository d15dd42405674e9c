// Runs the engine's CUDA C kernels (engine/src/main/resources/.../compute/cuda/*.cu, the very source text NVRTC
// compiles) on the CPU: every thread of a block is a std::thread, __syncthreads() a barrier, __shared__ a static shared
// by the block's threads (blocks run one after another), the rounding intrinsics plain float operations (compiled
// with -ffp-contract=off, as NVRTC with --fmad=false). Input: launches recorded by the Java EmulatedDevice (kernel,
// grid, block, argument slots, device memory before and after its Java mirror ran); output: for each launch, how many
// 4-byte words of device memory differ between this run of the CUDA source and the Java mirror.
// A developer check (no GPU, no CUDA toolkit: g++ only), run by engine/src/test/cuda-host/check.sh.
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

struct Dim3 { unsigned x = 1, y = 1, z = 1; };
static thread_local Dim3 threadIdx, blockIdx;
static Dim3 blockDim, gridDim;
static std::barrier<>* block_barrier;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__
#define __shared__ static
static inline void __syncthreads() { block_barrier->arrive_and_wait(); }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
static inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
static inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
using std::exp; using std::log; using std::tanh; using std::sqrt; using std::cos; using std::sin; using std::fmaxf;

#include "adamw.cu"
#include "attention.cu"
#include "convert.cu"
#include "cross_entropy.cu"
#include "embedding.cu"
#include "gradnorm.cu"
#include "lora_dropout.cu"
#include "nf4.cu"
#include "rmsnorm.cu"
#include "rope.cu"
#include "swiglu.cu"

static const uint64_t BASE = 1ull << 32;
static std::vector<unsigned char> mem;
static std::vector<uint64_t> slot;

template <class T> static T* P(int i) { return slot[i] == 0 ? nullptr : (T*) (mem.data() + (slot[i] - BASE)); }
static int I(int i) { return (int) (uint32_t) slot[i]; }
static long long L(int i) { return (long long) slot[i]; }
static unsigned long long U(int i) { return slot[i]; }
static float F(int i) { return __uint_as_float((uint32_t) slot[i]); }
static double D(int i) { double d; std::memcpy(&d, &slot[i], 8); return d; }

static std::map<std::string, std::function<void()>> kernels = {
    {"adamw_step", [] { adamw_step(P<float>(0), P<float>(1), P<float>(2), P<float>(3), L(4), I(5), F(6), F(7), F(8), F(9), F(10), F(11), F(12)); }},
    {"causal_softmax_forward", [] { causal_softmax_forward(P<float>(0), P<int>(1), I(2), I(3), I(4)); }},
    {"causal_softmax_backward", [] { causal_softmax_backward(P<float>(0), P<float>(1), I(2), F(3), I(4)); }},
    {"f32_to_bf16", [] { f32_to_bf16(P<unsigned short>(0), P<float>(1), L(2)); }},
    {"add_f32", [] { add_f32(P<float>(0), P<float>(1), P<float>(2), L(3)); }},
    {"add_bias_f32", [] { add_bias_f32(P<float>(0), P<float>(1), I(2), L(3)); }},
    {"scale_f32", [] { scale_f32(P<float>(0), F(1), L(2)); }},
    {"cross_entropy_forward_backward", [] { cross_entropy_forward_backward(P<float>(0), P<float>(1), P<int>(2), I(3), F(4)); }},
    {"embedding_forward", [] { embedding_forward(P<float>(0), P<int>(1), P<unsigned short>(2), I(3)); }},
    {"embedding_forward_f32", [] { embedding_forward_f32(P<float>(0), P<int>(1), P<float>(2), I(3)); }},
    {"sumsq_partials", [] { sumsq_partials(P<float>(0), L(1), P<double>(2)); }},
    {"lora_dropout_forward", [] { lora_dropout_forward(P<float>(0), P<float>(1), L(2), U(3), I(4), F(5)); }},
    {"lora_dropout_backward", [] { lora_dropout_backward(P<float>(0), P<float>(1), L(2), U(3), I(4), F(5)); }},
    {"nf4_dequantize", [] { nf4_dequantize(P<unsigned char>(0), P<float>(1), P<float>(2), I(3), L(4), L(5), P<float>(6)); }},
    {"nf4_dequantize_bf16", [] { nf4_dequantize_bf16(P<unsigned char>(0), P<float>(1), P<float>(2), I(3), L(4), L(5), P<unsigned short>(6)); }},
    {"nf4_dequantize_dq", [] { nf4_dequantize_dq(P<unsigned char>(0), P<unsigned char>(1), P<float>(2), P<float>(3), F(4), I(5), P<float>(6), I(7), L(8), L(9), P<float>(10)); }},
    {"nf4_dequantize_dq_bf16", [] { nf4_dequantize_dq_bf16(P<unsigned char>(0), P<unsigned char>(1), P<float>(2), P<float>(3), F(4), I(5), P<float>(6), I(7), L(8), L(9), P<unsigned short>(10)); }},
    {"rmsnorm_forward", [] { rmsnorm_forward(P<float>(0), P<float>(1), P<float>(2), P<float>(3), I(4), D(5), F(6)); }},
    {"rmsnorm_backward", [] { rmsnorm_backward(P<float>(0), P<float>(1), P<float>(2), P<float>(3), P<float>(4), I(5), F(6)); }},
    {"rope_rotate", [] { rope_rotate(P<float>(0), P<float>(1), I(2), I(3), I(4), F(5), I(6), F(7)); }},
    {"swiglu_forward", [] { swiglu_forward(P<float>(0), P<float>(1), P<float>(2), L(3)); }},
    {"swiglu_backward", [] { swiglu_backward(P<float>(0), P<float>(1), P<float>(2), P<float>(3), P<float>(4), L(5)); }},
    {"geglu_tanh_forward", [] { geglu_tanh_forward(P<float>(0), P<float>(1), P<float>(2), L(3)); }},
    {"geglu_tanh_backward", [] { geglu_tanh_backward(P<float>(0), P<float>(1), P<float>(2), P<float>(3), P<float>(4), L(5)); }},
};

static void run(const std::function<void()>& k, unsigned grid, unsigned block) {
    gridDim.x = grid;
    blockDim.x = block;
    for (unsigned b = 0; b < grid; b++) {
        std::barrier<> bar(block);
        block_barrier = &bar;
        std::vector<std::thread> threads;
        for (unsigned t = 0; t < block; t++) {
            threads.emplace_back([&, b, t] { blockIdx.x = b; threadIdx.x = t; k(); });
        }
        for (auto& th : threads) th.join();
    }
}

int main(int argc, char** argv) {
    int bad = 0;
    for (int a = 1; a < argc; a++) {
        FILE* f = std::fopen(argv[a], "rb");
        char name[128] = {0};
        uint32_t nameLen, grid, block, n;
        uint64_t top;
        std::fread(&nameLen, 4, 1, f);
        std::fread(name, 1, nameLen, f);
        std::fread(&grid, 4, 1, f);
        std::fread(&block, 4, 1, f);
        std::fread(&n, 4, 1, f);
        slot.assign(n, 0);
        std::fread(slot.data(), 8, n, f);
        std::fread(&top, 8, 1, f);
        mem.assign(top, 0);
        std::vector<unsigned char> after(top);
        std::fread(mem.data(), 1, top, f);
        std::fread(after.data(), 1, top, f);
        std::fclose(f);
        auto it = kernels.find(name);
        if (it == kernels.end()) { std::printf("%s: no host entry\n", name); bad = 1; continue; }
        run(it->second, grid, block);
        // compare word by word: equal bits, or floats within 1e-5 relative (exp/log/cos/sin of glibc vs the JDK,
        // reduction order of the block tree vs Java's loop)
        long words = (long) (top / 4), differ = 0, exact = 0;
        double worst = 0;
        for (long w = 0; w < words; w++) {
            uint32_t x, y;
            std::memcpy(&x, &mem[4 * w], 4);
            std::memcpy(&y, &after[4 * w], 4);
            if (x == y) { exact++; continue; }
            float fx = __uint_as_float(x), fy = __uint_as_float(y);
            double rel = std::fabs((double) fx - fy) / std::fmax(1e-30, std::fmax(std::fabs(fx), std::fabs(fy)));
            if (!(rel <= 1e-5)) {
                // the word may be half of a double (the norm's partial sums, added in a block tree on the GPU and in a
                // loop in Java): compare the aligned double instead
                double dx, dy;
                long o = 8 * (w / 2);
                std::memcpy(&dx, &mem[o], 8);
                std::memcpy(&dy, &after[o], 8);
                double drel = std::fabs(dx - dy) / std::fmax(1e-300, std::fmax(std::fabs(dx), std::fabs(dy)));
                if (drel <= 1e-12) rel = drel;
            }
            if (!(rel <= 1e-5)) { differ++; if (differ <= 3) std::printf("  %s word %ld: cuda %a java %a\n", name, w, fx, fy); }
            worst = std::fmax(worst, std::isnan(rel) ? 1 : rel);
        }
        std::printf("%-32s grid %6u block %4u: %ld words, %ld bit-identical, %ld beyond 1e-5 (worst %.2e)\n", name, grid,
                    block, words, exact, differ, worst);
        if (differ) bad = 1;
    }
    return bad;
}
