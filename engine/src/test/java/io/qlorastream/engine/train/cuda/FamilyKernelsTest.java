package io.qlorastream.engine.train.cuda;

import io.qlorastream.engine.compute.cuda.CudaKernels;
import io.qlorastream.engine.compute.cuda.DeviceBuffer;
import io.qlorastream.engine.compute.cuda.EmulatedDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The kernels' options for the model families beyond Llama, each launched on its own: the (1 + w) norm and the
 * per-head norm (rmsnorm over [rows * heads, headDim]), geglu_tanh, the sliding window of the causal softmax, partial
 * rotary with longrope's attention factor. Each mirror on {@link EmulatedDevice} is held against a plain reference
 * written here (in double, from the formulas of architectures.md), the backwards against finite differences of their
 * forwards; then the .cu text itself, built by g++, replays every recorded launch (as in {@link CudaSourceOnHostTest}).
 */
class FamilyKernelsTest {
    private final Random rnd = new Random(7);

    private float[] random(int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) ((rnd.nextDouble() * 2 - 1) * scale);
        return a;
    }

    private static DeviceBuffer put(EmulatedDevice dev, float[] v) {
        DeviceBuffer b = dev.allocate(4L * v.length);
        b.upload(v, 0, v.length, 0);
        return b;
    }

    /** rmsnorm_forward with w_offset on [rows, c]: out and rstd. */
    private static float[][] norm(EmulatedDevice dev, float[] x, float[] w, int rows, int c, float offset) {
        DeviceBuffer out = dev.allocate(4L * rows * c), rstd = dev.allocate(4L * rows);
        try (CudaKernels.Args a = new CudaKernels.Args().ptr(out).ptr(rstd).ptr(put(dev, x)).ptr(put(dev, w)).i32(c)
                .f64(1e-6).f32(offset)) {
            dev.launch("rmsnorm_forward", rows, CudaKernels.THREADS, a);
        }
        return new float[][]{out.toFloats(), rstd.toFloats()};
    }

    @Test
    void gemmaNormScalesByOnePlusWeightAndPerHeadNormIsTheSameKernelOverHeadRows(@TempDir Path dir) throws Exception {
        EmulatedDevice dev = new EmulatedDevice(8 << 20, dir);
        int tokens = 3, heads = 4, d = 8, rows = tokens * heads; // q of 3 tokens, 4 heads: one norm row per head
        float[] x = random(rows * d, 1), w = random(d, 0.5), dout = random(rows * d, 1);
        for (float offset : new float[]{1f, 0f}) { // the first launch is the one recorded for the replay: (1 + w)
            float[][] fr = norm(dev, x, w, rows, d, offset);
            for (int r = 0; r < rows; r++) {
                double ss = 0;
                for (int j = 0; j < d; j++) ss += (double) x[r * d + j] * x[r * d + j];
                double rstd = 1 / Math.sqrt(ss / d + 1e-6);
                for (int j = 0; j < d; j++) {
                    assertThat((double) fr[0][r * d + j]).isCloseTo(x[r * d + j] * rstd * (w[j] + offset), within(1e-5));
                }
            }
            // backward against central differences of sum(dout * forward)
            DeviceBuffer dx = put(dev, new float[rows * d]);
            try (CudaKernels.Args a = new CudaKernels.Args().ptr(dx).ptr(put(dev, dout)).ptr(put(dev, x)).ptr(put(dev, w))
                    .ptr(put(dev, fr[1])).i32(d).f32(offset)) {
                dev.launch("rmsnorm_backward", rows, CudaKernels.THREADS, a);
            }
            float[] g = dx.toFloats();
            for (int i : new int[]{0, 5, 17, rows * d - 1}) {
                double h = 1e-3;
                float[] xp = x.clone(), xm = x.clone();
                xp[i] += (float) h;
                xm[i] -= (float) h;
                double numeric = (dot(dout, norm(dev, xp, w, rows, d, offset)[0]) - dot(dout, norm(dev, xm, w, rows, d, offset)[0]))
                        / (xp[i] - xm[i]);
                assertThat((double) g[i]).as("dx[%d], w_offset %s", i, offset).isCloseTo(numeric, within(2e-3));
            }
        }
        replay(dir);
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
        return s;
    }

    private static double geluTanh(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    @Test
    void gegluTanhIsGeluTanhOfGateTimesUpAndItsBackwardItsDerivative(@TempDir Path dir) throws Exception {
        EmulatedDevice dev = new EmulatedDevice(8 << 20, dir);
        int n = 300;
        float[] gate = random(n, 4), up = random(n, 2), dout = random(n, 1);
        DeviceBuffer out = dev.allocate(4L * n), dgate = put(dev, new float[n]), dup = put(dev, new float[n]);
        DeviceBuffer g = put(dev, gate), u = put(dev, up);
        try (CudaKernels.Args a = new CudaKernels.Args().ptr(out).ptr(g).ptr(u).i64(n)) {
            dev.launchElementwise("geglu_tanh_forward", n, a);
        }
        try (CudaKernels.Args a = new CudaKernels.Args().ptr(dgate).ptr(dup).ptr(put(dev, dout)).ptr(g).ptr(u).i64(n)) {
            dev.launchElementwise("geglu_tanh_backward", n, a);
        }
        float[] h = out.toFloats(), dg = dgate.toFloats(), du = dup.toFloats();
        for (int i = 0; i < n; i++) {
            assertThat((double) h[i]).isCloseTo(geluTanh(gate[i]) * up[i], within(1e-5));
            double eps = 1e-4;
            double numeric = (geluTanh(gate[i] + eps) - geluTanh(gate[i] - eps)) / (2 * eps);
            assertThat((double) dg[i]).as("dgate[%d]", i).isCloseTo(dout[i] * up[i] * numeric, within(1e-4));
            assertThat((double) du[i]).isCloseTo(dout[i] * geluTanh(gate[i]), within(1e-5));
        }
        replay(dir);
    }

    @Test
    void slidingWindowSoftmaxSeesOnlyTheLastWKeysAndItsBackwardMatchesDifferences(@TempDir Path dir) throws Exception {
        EmulatedDevice dev = new EmulatedDevice(8 << 20, dir);
        int batch = 2, heads = 2, t = 7, window = 3, rows = batch * heads * t;
        float[] scores = random(rows * t, 2), dprobs = random(rows * t, 1);
        int[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1}; // batch 1 has a masked key at 3
        float[] p = windowSoftmax(dev, scores, mask, heads, t, window, rows);
        for (int r = 0; r < rows; r++) {
            int i = r % t, b = r / (heads * t);
            double mx = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j <= i; j++) if (i - j < window && mask[b * t + j] != 0) mx = Math.max(mx, scores[r * t + j]);
            for (int j = 0; j <= i; j++) if (i - j < window && mask[b * t + j] != 0) sum += Math.exp(scores[r * t + j] - mx);
            for (int j = 0; j < t; j++) {
                boolean sees = j <= i && i - j < window && mask[b * t + j] != 0;
                double expected = sees ? Math.exp(scores[r * t + j] - mx) / sum : 0;
                assertThat((double) p[r * t + j]).as("p[%d][%d]", r, j).isCloseTo(expected, within(1e-6));
            }
        }
        float scale = 0.5f;
        DeviceBuffer dp = put(dev, dprobs);
        try (CudaKernels.Args a = new CudaKernels.Args().ptr(dp).ptr(put(dev, p)).i32(t).f32(scale).i32(window)) {
            dev.launch("causal_softmax_backward", rows, CudaKernels.THREADS, a);
        }
        float[] ds = dp.toFloats();
        for (int i : new int[]{3, 20, 6 * t + 5, rows * t - 2, rows * t - 1}) {
            float[] sp = scores.clone(), sm = scores.clone();
            sp[i] += 1e-3f;
            sm[i] -= 1e-3f;
            double numeric = (dot(dprobs, windowSoftmax(dev, sp, mask, heads, t, window, rows))
                    - dot(dprobs, windowSoftmax(dev, sm, mask, heads, t, window, rows))) / (sp[i] - sm[i]);
            assertThat((double) ds[i]).as("dscore[%d]", i).isCloseTo(scale * numeric, within(1e-3));
        }
        replay(dir);
    }

    private static float[] windowSoftmax(EmulatedDevice dev, float[] scores, int[] mask, int heads, int t, int window, int rows) {
        DeviceBuffer p = put(dev, scores), m = dev.allocate(4L * mask.length);
        m.uploadInts(mask, mask.length);
        try (CudaKernels.Args a = new CudaKernels.Args().ptr(p).ptr(m).i32(heads).i32(t).i32(window)) {
            dev.launch("causal_softmax_forward", rows, CudaKernels.THREADS, a);
        }
        return p.toFloats();
    }

    @Test
    void partialRotaryTurnsOnlyTheFirstRotaryDimsScaledByTheAttentionFactorAndRotatesBack(@TempDir Path dir) throws Exception {
        EmulatedDevice dev = new EmulatedDevice(8 << 20, dir);
        int rows = 6, seq = 3, heads = 2, d = 8, rotary = 4;
        float factor = 1.25f;
        float[] x = random(rows * heads * d, 1);
        float[] invFreq = {1f, 0.01f};
        DeviceBuffer buf = put(dev, x), inv = put(dev, invFreq);
        rope(dev, buf, inv, rows, heads, d, seq, 1f, rotary, factor);
        float[] y = buf.toFloats();
        for (int r = 0; r < rows; r++) {
            for (int h = 0; h < heads; h++) {
                int o = (r * heads + h) * d;
                for (int f = 0; f < rotary / 2; f++) {
                    double angle = (r % seq) * invFreq[f];
                    double c = Math.cos(angle) * factor, s = Math.sin(angle) * factor;
                    double x1 = x[o + f], x2 = x[o + f + rotary / 2];
                    assertThat((double) y[o + f]).isCloseTo(x1 * c - x2 * s, within(1e-5));
                    assertThat((double) y[o + f + rotary / 2]).isCloseTo(x2 * c + x1 * s, within(1e-5));
                }
                for (int f = rotary; f < d; f++) {
                    assertThat(y[o + f]).as("pass-through element %d", f).isEqualTo(x[o + f]);
                }
            }
        }
        // sign -1 is the transpose: back to x times factor^2 on the rotated part
        rope(dev, buf, inv, rows, heads, d, seq, -1f, rotary, factor);
        float[] back = buf.toFloats();
        for (int i = 0; i < x.length; i++) {
            double expected = i % d < rotary ? x[i] * factor * factor : x[i];
            assertThat((double) back[i]).isCloseTo(expected, within(1e-5));
        }
        replay(dir);
    }

    private static void rope(EmulatedDevice dev, DeviceBuffer x, DeviceBuffer inv, int rows, int heads, int d, int seq,
                             float sign, int rotary, float factor) {
        try (CudaKernels.Args a = new CudaKernels.Args().ptr(x).ptr(inv).i32(heads).i32(d).i32(seq).f32(sign).i32(rotary)
                .f32(factor)) {
            dev.launch("rope_rotate", rows, 64, a);
        }
    }

    /** Builds the .cu sources with g++ and replays each launch the device recorded (skipped without g++ 11+). */
    private static void replay(Path dir) throws Exception {
        assumeTrue(CudaSourceOnHostTest.gppVersion() != null, "no g++ 11 or later on PATH to build the CUDA sources as C++");
        List<String> command = new ArrayList<>();
        Path binary = dir.resolve("host_kernels");
        CudaSourceOnHostTest.run(List.of("g++", "-std=c++20", "-O1", "-ffp-contract=off", "-pthread", "-Wall",
                "-Wno-unused-function", "-I", "src/main/resources/io/qlorastream/engine/compute/cuda", "-o",
                binary.toString(), "src/test/cuda-host/host_kernels.cpp"), 0);
        command.add(binary.toString());
        List<String> names = new ArrayList<>();
        try (var files = Files.list(dir)) {
            files.filter(p -> p.toString().endsWith(".launch")).sorted().forEach(p -> {
                command.add(p.toString());
                names.add(p.getFileName().toString().replace(".launch", ""));
            });
        }
        assertThat(names).isNotEmpty();
        String report = CudaSourceOnHostTest.run(command, 0);
        for (String k : names) {
            assertThat(report).as("report of " + k).containsPattern("(?m)^" + k + " +grid .* 0 beyond 1e-5");
        }
    }
}
