package io.qlorastream.engine.compute.cuda;

import io.qlorastream.engine.lora.Rng;
import io.qlorastream.engine.tensor.Floats;
import io.qlorastream.engine.train.cuda.CudaTrainingModel;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A {@link TrainingDevice} on the CPU: device memory is one host buffer (fresh allocations are filled with NaN bytes,
 * as cudaMalloc'd memory holds garbage, so reading before writing shows), the kernels are Java transliterations of the
 * .cu sources, launched by name with their argument slots decoded as the driver would, and the products follow
 * cuBLAS's column-major definition. It lets a CPU test run {@link CudaTrainingModel}'s orchestration end to end.
 * <p>
 * What it cannot check: the CUDA C itself (compiled by NVRTC only on a GPU; the transliterations here are mirrors),
 * cuBLAS's and the driver's real behaviour, and anything about speed.
 */
public final class EmulatedDevice implements TrainingDevice {
    private static final long BASE = 1L << 32;
    private final ByteBuffer mem;
    private int top;
    /** Kernel launches by name, for tests that check which kernels ran. */
    public final java.util.Map<String, Integer> launches = new java.util.TreeMap<>();

    public EmulatedDevice(int bytes) {
        this(bytes, RECORD_FROM_ENV);
    }

    /** A device that records the first (widest) launch of every kernel into {@code recordInto} (null: none). */
    public EmulatedDevice(int bytes, java.nio.file.Path recordInto) {
        mem = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        this.recordDir = recordInto;
    }

    @Override
    public void enter() {
    }

    @Override
    public DeviceBuffer allocate(long bytes) {
        int n = (int) Math.max(1, bytes);
        int at = (top + 255) & ~255;
        if (at + n > mem.capacity()) {
            throw new IllegalStateException("emulated device out of memory: " + n + " bytes at " + at);
        }
        top = at + n;
        for (int i = at; i < at + n; i++) {
            mem.put(i, (byte) 0xFF); // NaN floats: uninitialized memory must never be read
        }
        return DeviceBuffer.emulated(mem.slice(at, n), BASE + at);
    }

    private int off(long address) {
        long o = address - BASE;
        if (o < 0 || o >= top) {
            throw new IndexOutOfBoundsException("device address " + Long.toHexString(address) + " outside the allocations");
        }
        return (int) o;
    }

    float f(long address, long i) {
        return mem.getFloat(off(address + 4 * i));
    }

    void pf(long address, long i, float v) {
        mem.putFloat(off(address + 4 * i), v);
    }

    private int i32(long address, long i) {
        return mem.getInt(off(address + 4 * i));
    }

    private short s16(long address, long i) {
        return mem.getShort(off(address + 2 * i));
    }

    private int u8(long address, long i) {
        return mem.get(off(address + i)) & 0xFF;
    }

    @Override
    public void copy(long dst, long src, long bytes) {
        for (long i = 0; i < bytes; i++) {
            mem.put(off(dst + i), mem.get(off(src + i)));
        }
    }

    @Override
    public void launchElementwise(String kernel, long n, CudaKernels.Args args) {
        // the grid CudaKernels.launchElementwise gives it (the mirrors ignore it; the host run of the CUDA source uses it)
        launch(kernel, (int) Math.max(1, Math.min(65535, (n + CudaKernels.THREADS - 1) / CudaKernels.THREADS)),
                CudaKernels.THREADS, args);
    }

    /**
     * With QLORA_EMULATOR_RECORD=DIR, the first launch of every kernel on this device is written to DIR/kernel.launch
     * (name, grid, block, argument slots, device memory before and after the Java mirror ran) unless a launch over
     * more memory is there already (the widest shapes loop most inside the kernels), for engine/src/test/cuda-host,
     * which runs the CUDA source itself on the CPU over the same memory and compares.
     */
    private static final java.nio.file.Path RECORD_FROM_ENV = System.getenv("QLORA_EMULATOR_RECORD") == null ? null
            : java.nio.file.Path.of(System.getenv("QLORA_EMULATOR_RECORD"));
    private final java.nio.file.Path recordDir;
    private final java.util.Set<String> recorded = new java.util.HashSet<>();

    @Override
    public void launch(String kernel, int grid, int block, CudaKernels.Args args) {
        if (grid < 1 || block < 1 || block > 1024) {
            throw new IllegalArgumentException("cuLaunchKernel would fail: " + kernel + " grid " + grid + " block " + block);
        }
        if (recordDir == null || !recorded.add(kernel)) {
            emulate(kernel, grid, block, args);
            return;
        }
        byte[] before = new byte[top];
        mem.get(0, before);
        emulate(kernel, grid, block, args);
        byte[] after = new byte[top];
        mem.get(0, after);
        byte[] name = kernel.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        ByteBuffer head = ByteBuffer.allocate(4 + name.length + 12 + 8 * args.count() + 8).order(ByteOrder.LITTLE_ENDIAN);
        head.putInt(name.length).put(name).putInt(grid).putInt(block).putInt(args.count());
        for (int i = 0; i < args.count(); i++) head.putLong(args.slot(i));
        head.putLong(top);
        try {
            java.nio.file.Files.createDirectories(recordDir);
            java.nio.file.Path file = recordDir.resolve(kernel + ".launch");
            if (java.nio.file.Files.exists(file) && java.nio.file.Files.size(file) >= head.capacity() + 2L * top) {
                return;
            }
            try (java.io.OutputStream out = java.nio.file.Files.newOutputStream(file)) {
                out.write(head.array());
                out.write(before);
                out.write(after);
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Argument slots decoded by position. */
    private record A(CudaKernels.Args a) {
        long p(int i) {
            return a.slot(i);
        }

        int i(int i) {
            return (int) a.slot(i);
        }

        long l(int i) {
            return a.slot(i);
        }

        float f(int i) {
            return Float.intBitsToFloat((int) a.slot(i));
        }

        double d(int i) {
            return Double.longBitsToDouble(a.slot(i));
        }
    }

    /** gelu_tanh's constants, as in swiglu.cu. */
    private static final double GELU_SQRT_2_OVER_PI = 0.7978845608028654, GELU_CUBIC = 0.044715;

    private void emulate(String kernel, int grid, int block, CudaKernels.Args args) {
        launches.merge(kernel, 1, Integer::sum);
        A a = new A(args);
        switch (kernel) {
            case "embedding_forward", "embedding_forward_f32" -> {
                boolean b16 = kernel.equals("embedding_forward");
                long out = a.p(0), tokens = a.p(1), table = a.p(2);
                int c = a.i(3);
                for (int row = 0; row < grid; row++) {
                    long src = (long) i32(tokens, row) * c;
                    for (int j = 0; j < c; j++) {
                        pf(out, (long) row * c + j, b16 ? Floats.bf16ToFloat(s16(table, src + j)) : f(table, src + j));
                    }
                }
            }
            case "rmsnorm_forward" -> {
                long out = a.p(0), rstd = a.p(1), x = a.p(2), w = a.p(3);
                int c = a.i(4);
                double eps = a.d(5);
                float wOffset = a.f(6);
                for (int row = 0; row < grid; row++) {
                    long o = (long) row * c;
                    double ss = 0;
                    for (int j = 0; j < c; j++) ss += (double) f(x, o + j) * f(x, o + j);
                    float r = (float) (1.0 / Math.sqrt(ss / c + eps));
                    pf(rstd, row, r);
                    for (int j = 0; j < c; j++) pf(out, o + j, f(x, o + j) * r * (f(w, j) + wOffset));
                }
            }
            case "rmsnorm_backward" -> {
                long dx = a.p(0), dout = a.p(1), x = a.p(2), w = a.p(3), rstd = a.p(4);
                int c = a.i(5);
                float wOffset = a.f(6);
                for (int row = 0; row < grid; row++) {
                    long o = (long) row * c;
                    float r = f(rstd, row);
                    double dot = 0;
                    for (int j = 0; j < c; j++) dot += (double) f(dout, o + j) * (f(w, j) + wOffset) * f(x, o + j);
                    float k = (float) (dot * r * r * r / c);
                    for (int j = 0; j < c; j++) {
                        pf(dx, o + j, f(dx, o + j) + (r * (f(w, j) + wOffset) * f(dout, o + j) - k * f(x, o + j)));
                    }
                }
            }
            case "f32_to_bf16" -> {
                long out = a.p(0), x = a.p(1), n = a.l(2);
                for (long i = 0; i < n; i++) mem.putShort(off(out + 2 * i), Floats.floatToBf16(f(x, i)));
            }
            case "add_f32" -> {
                long out = a.p(0), x = a.p(1), y = a.p(2), n = a.l(3);
                for (long i = 0; i < n; i++) pf(out, i, f(x, i) + f(y, i));
            }
            case "add_bias_f32" -> {
                long y = a.p(0), bias = a.p(1);
                int cols = a.i(2);
                long n = a.l(3);
                for (long i = 0; i < n; i++) pf(y, i, f(y, i) + f(bias, i % cols));
            }
            case "scale_f32" -> {
                long x = a.p(0);
                float c = a.f(1);
                long n = a.l(2);
                for (long i = 0; i < n; i++) pf(x, i, f(x, i) * c);
            }
            case "rope_rotate" -> {
                long x = a.p(0), inv = a.p(1);
                int heads = a.i(2), d = a.i(3), seq = a.i(4);
                float sign = a.f(5);
                int half = a.i(6) / 2;
                float factor = a.f(7);
                for (int row = 0; row < grid; row++) {
                    float pos = row % seq;
                    for (int h = 0; h < heads; h++) {
                        long o = (long) row * heads * d + (long) h * d;
                        for (int fi = 0; fi < half; fi++) {
                            float angle = pos * f(inv, fi);
                            float cs = (float) Math.cos(angle) * factor;
                            float sn = sign * ((float) Math.sin(angle) * factor);
                            float x1 = f(x, o + fi), x2 = f(x, o + fi + half);
                            pf(x, o + fi, x1 * cs - x2 * sn);
                            pf(x, o + fi + half, x2 * cs + x1 * sn);
                        }
                    }
                }
            }
            case "causal_softmax_forward" -> {
                long p = a.p(0), mask = a.p(1);
                int heads = a.i(2), t = a.i(3), window = a.i(4);
                for (long r = 0; r < grid; r++) {
                    int i = (int) (r % t);
                    int b = (int) (r / ((long) heads * t));
                    int start = window > 0 ? Math.max(0, i - window + 1) : 0;
                    long row = r * t;
                    float mx = Float.NEGATIVE_INFINITY;
                    for (int j = start; j <= i; j++) {
                        if (mask == 0 || i32(mask, (long) b * t + j) != 0) mx = Math.max(mx, f(p, row + j));
                    }
                    double sum = 0;
                    for (int j = 0; j < t; j++) {
                        if (j >= start && j <= i && (mask == 0 || i32(mask, (long) b * t + j) != 0)) {
                            float e = (float) Math.exp(f(p, row + j) - mx);
                            pf(p, row + j, e);
                            sum += e;
                        } else {
                            pf(p, row + j, 0f);
                        }
                    }
                    if (sum > 0) {
                        float inv = (float) (1.0 / sum);
                        for (int j = start; j <= i; j++) pf(p, row + j, f(p, row + j) * inv);
                    }
                }
            }
            case "causal_softmax_backward" -> {
                long dp = a.p(0), p = a.p(1);
                int t = a.i(2);
                float scale = a.f(3);
                int window = a.i(4);
                for (long r = 0; r < grid; r++) {
                    int i = (int) (r % t);
                    int start = window > 0 ? Math.max(0, i - window + 1) : 0;
                    int end = Math.min(t, i + 1);
                    long row = r * t;
                    double dot = 0;
                    for (int j = start; j < end; j++) dot += (double) f(p, row + j) * f(dp, row + j);
                    for (int j = 0; j < t; j++) {
                        pf(dp, row + j, j >= start && j < end ? (float) (f(p, row + j) * (f(dp, row + j) - dot)) * scale : 0f);
                    }
                }
            }
            case "swiglu_forward" -> {
                long out = a.p(0), gate = a.p(1), up = a.p(2), n = a.l(3);
                for (long i = 0; i < n; i++) {
                    double g = f(gate, i);
                    pf(out, i, (float) (g / (1.0 + Math.exp(-g))) * f(up, i));
                }
            }
            case "swiglu_backward" -> {
                long dgate = a.p(0), dup = a.p(1), dout = a.p(2), gate = a.p(3), up = a.p(4), n = a.l(5);
                for (long i = 0; i < n; i++) {
                    double g = f(gate, i);
                    double s = 1.0 / (1.0 + Math.exp(-g));
                    pf(dgate, i, f(dgate, i) + (float) ((double) (f(dout, i) * f(up, i)) * s * (1.0 + g * (1.0 - s))));
                    pf(dup, i, f(dup, i) + (float) ((double) f(dout, i) * g * s));
                }
            }
            case "geglu_tanh_forward" -> {
                long out = a.p(0), gate = a.p(1), up = a.p(2), n = a.l(3);
                for (long i = 0; i < n; i++) {
                    double g = f(gate, i);
                    double t = Math.tanh(GELU_SQRT_2_OVER_PI * (g + GELU_CUBIC * g * g * g));
                    pf(out, i, (float) (0.5 * g * (1.0 + t)) * f(up, i));
                }
            }
            case "geglu_tanh_backward" -> {
                long dgate = a.p(0), dup = a.p(1), dout = a.p(2), gate = a.p(3), up = a.p(4), n = a.l(5);
                for (long i = 0; i < n; i++) {
                    double g = f(gate, i);
                    double t = Math.tanh(GELU_SQRT_2_OVER_PI * (g + GELU_CUBIC * g * g * g));
                    double d = 0.5 * (1.0 + t) + 0.5 * g * (1.0 - t * t) * GELU_SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * g * g);
                    pf(dgate, i, f(dgate, i) + (float) ((double) (f(dout, i) * f(up, i)) * d));
                    pf(dup, i, f(dup, i) + (float) ((double) f(dout, i) * 0.5 * g * (1.0 + t)));
                }
            }
            case "lora_dropout_forward", "lora_dropout_backward" -> {
                long out = a.p(0), x = a.p(1), n = a.l(2), key = a.l(3);
                int dropBelow = a.i(4);
                float keep = a.f(5);
                boolean fwd = kernel.endsWith("forward");
                for (long i = 0; i < n; i++) {
                    long h = Rng.mix64(key + (i >>> 2) * 0x9E3779B97F4A7C15L);
                    float factor = (h >>> ((i & 3) << 4) & 0xFFFF) >= dropBelow ? keep : 0f;
                    if (fwd) {
                        pf(out, i, f(x, i) * factor);
                    } else {
                        pf(out, i, f(out, i) + f(x, i) * factor);
                    }
                }
            }
            case "cross_entropy_forward_backward" -> {
                long logits = a.p(0), losses = a.p(1), targets = a.p(2);
                int vocab = a.i(3);
                float weight = a.f(4);
                for (long r = 0; r < grid; r++) {
                    long row = r * vocab;
                    int target = i32(targets, r);
                    if (target == -100) {
                        for (int j = 0; j < vocab; j++) pf(logits, row + j, 0f);
                        pf(losses, r, 0f);
                        continue;
                    }
                    float mx = Float.NEGATIVE_INFINITY;
                    for (int j = 0; j < vocab; j++) mx = Math.max(mx, f(logits, row + j));
                    double sum = 0;
                    for (int j = 0; j < vocab; j++) sum += Math.exp(f(logits, row + j) - mx);
                    double logSum = mx + Math.log(sum);
                    pf(losses, r, (float) (logSum - f(logits, row + target)));
                    for (int j = 0; j < vocab; j++) {
                        float prob = (float) Math.exp(f(logits, row + j) - logSum);
                        pf(logits, row + j, weight * (prob - (j == target ? 1f : 0f)));
                    }
                }
            }
            case "sumsq_partials" -> {
                long g = a.p(0), n = a.l(1), partials = a.p(2);
                double[] part = new double[grid];
                for (long i = 0; i < n; i++) {
                    double v = f(g, i);
                    part[(int) ((i / block) % grid)] += v * v;
                }
                for (int b = 0; b < grid; b++) mem.putDouble(off(partials + 8L * b), part[b]);
            }
            case "adamw_step" -> {
                long params = a.p(0), grads = a.p(1), m = a.p(2), v = a.p(3), n = a.l(4);
                boolean decays = a.i(5) != 0;
                float decay = a.f(6), omb1 = a.f(7), beta2 = a.f(8), omb2 = a.f(9), neg = a.f(10), bc2 = a.f(11), eps = a.f(12);
                for (long i = 0; i < n; i++) {
                    float g = f(grads, i);
                    float pv = decays ? f(params, i) * decay : f(params, i);
                    float mv = f(m, i);
                    mv = mv + omb1 * (g - mv);
                    float vv = f(v, i) * beta2 + omb2 * g * g;
                    pf(m, i, mv);
                    pf(v, i, vv);
                    float denom = (float) Math.sqrt(vv) / bc2 + eps;
                    pf(params, i, pv + neg * mv / denom);
                }
            }
            case "nf4_dequantize", "nf4_dequantize_bf16", "nf4_dequantize_dq", "nf4_dequantize_dq_bf16" -> {
                boolean dq = kernel.contains("_dq");
                boolean b16 = kernel.endsWith("_bf16");
                long packed = a.p(0);
                long qabs = a.p(1);
                long nestedAbs = 0, nestedMap = 0;
                float nestedOffset = 0;
                int nestedBlock = 1;
                if (dq) {
                    nestedAbs = a.p(2);
                    nestedMap = a.p(3);
                    nestedOffset = a.f(4);
                    nestedBlock = a.i(5);
                }
                int at = dq ? 6 : 2; // the double-quantized kernels take four more arguments after qabsmax
                long code = a.p(at);
                int blockSize = a.i(at + 1);
                long start = a.l(at + 2);
                long count = a.l(at + 3);
                long out = a.p(at + 4);
                for (long t = 0; t < count; t++) {
                    long i = start + t;
                    long blk = i / blockSize;
                    float scale = dq ? f(nestedMap, u8(qabs, blk)) * f(nestedAbs, blk / nestedBlock) + nestedOffset : f(qabs, blk);
                    int byt = u8(packed, i >> 1);
                    int nibble = (i & 1) != 0 ? (byt & 15) : (byt >> 4);
                    float v = f(code, nibble) * scale;
                    if (b16) {
                        mem.putShort(off(out + 2 * t), Floats.floatToBf16(v));
                    } else {
                        pf(out, t, v);
                    }
                }
            }
            default -> throw new UnsupportedOperationException("no emulation of kernel " + kernel);
        }
    }

    // ---- cuBLAS, column-major ----

    private interface Read {
        float at(long address, long i);
    }

    private void gemm(boolean tA, boolean tB, int m, int n, int k, float alpha, long a, int lda, long b, int ldb,
                      float beta, long c, int ldc, Read read) {
        // cuBLAS refuses these with CUBLAS_STATUS_INVALID_VALUE: so does the emulator
        if (m < 0 || n < 0 || k < 0 || lda < Math.max(1, tA ? k : m) || ldb < Math.max(1, tB ? n : k) || ldc < Math.max(1, m)) {
            throw new IllegalArgumentException("cuBLAS would refuse: m " + m + " n " + n + " k " + k + " transa " + tA
                    + " lda " + lda + " transb " + tB + " ldb " + ldb + " ldc " + ldc);
        }
        // op(A) [m, k] and op(B) [k, n] read once into arrays, then the product in double
        float[] opA = new float[m * k];
        float[] opB = new float[k * n];
        for (int i = 0; i < m; i++) {
            for (int p = 0; p < k; p++) {
                opA[i * k + p] = tA ? read.at(a, p + (long) i * lda) : read.at(a, i + (long) p * lda);
            }
        }
        for (int p = 0; p < k; p++) {
            for (int j = 0; j < n; j++) {
                opB[p * n + j] = tB ? read.at(b, j + (long) p * ldb) : read.at(b, p + (long) j * ldb);
            }
        }
        double[] row = new double[n];
        for (int i = 0; i < m; i++) {
            java.util.Arrays.fill(row, 0);
            for (int p = 0; p < k; p++) {
                double av = opA[i * k + p];
                int base = p * n;
                for (int j = 0; j < n; j++) {
                    row[j] += av * opB[base + j];
                }
            }
            for (int j = 0; j < n; j++) {
                long at = i + (long) j * ldc;
                pf(c, at, (float) (alpha * row[j] + (beta == 0 ? 0 : beta * f(c, at))));
            }
        }
    }

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda, long b, int ldb,
                      float beta, long c, int ldc) {
        gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, this::f);
    }

    @Override
    public void sgemmStridedBatched(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda,
                                    long strideA, long b, int ldb, long strideB, float beta, long c, int ldc, long strideC,
                                    int count) {
        for (int i = 0; i < count; i++) {
            gemm(transA, transB, m, n, k, alpha, a + 4 * i * strideA, lda, b + 4 * i * strideB, ldb, beta,
                    c + 4 * i * strideC, ldc, this::f);
        }
    }

    @Override
    public void gemmEx(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda, long b, int ldb,
                       float beta, long c, int ldc, boolean bf16) {
        gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                bf16 ? (addr, i) -> Floats.bf16ToFloat(s16(addr, i)) : this::f);
    }

    int bytesInUse() {
        return top;
    }

    @Override
    public String toString() {
        return "EmulatedDevice" + Arrays.toString(new int[]{top});
    }
}
