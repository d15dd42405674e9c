package io.qlorastream.engine.compute.cuda;

import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.kernels.RmsNorm;
import io.qlorastream.engine.kernels.SwiGlu;
import io.qlorastream.engine.optim.AdamW;
import io.qlorastream.engine.quant.Nf4Tensor;
import io.qlorastream.engine.tensor.DenseMatrix;
import io.qlorastream.engine.tensor.WeightMatrix;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The CUDA backend and kernels against the CPU ones, on a GPU only (skipped elsewhere with the reason). NF4
 * dequantization must agree bit for bit; products and element-wise kernels within float rounding.
 */
@RequiresCuda
class CudaBackendTest {
    static CudaBackend gpu;
    static HostKernels onGpu;
    static CpuBackend cpu;

    @BeforeAll
    static void open() {
        gpu = CudaBackend.open(2);
        onGpu = new HostKernels(gpu);
        cpu = new CpuBackend(2);
    }

    @AfterAll
    static void close() {
        if (gpu != null) {
            gpu.close();
        }
        if (cpu != null) {
            cpu.close();
        }
    }

    static float[] random(int n, long seed, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return a;
    }

    /** max |a − b| / (1 + |b|) over all elements, i.e. relative for large values and absolute near zero. */
    static double maxError(float[] a, float[] b) {
        assertThat(a).hasSameSizeAs(b);
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            assertThat(Float.isFinite(a[i])).as("element %d finite", i).isTrue();
            max = Math.max(max, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
        }
        return max;
    }

    @Test
    void nf4DequantizationMatchesTheCpuBitForBitWithAndWithoutDoubleQuant() {
        int rows = 301, cols = 67; // odd: rows start mid-byte and mid-block
        float[] w = random(rows * cols, 1, 0.05);
        for (boolean dq : new boolean[]{false, true}) {
            Nf4Tensor t = Nf4Tensor.quantize(w, rows, cols, 64, dq);
            float[] cpuAll = new float[rows * cols];
            t.dequantizeRows(0, rows, cpuAll, 0);
            assertThat(gpu.dequantizeOnDevice(t, 0, rows)).as("double quant " + dq).isEqualTo(cpuAll);
            float[] cpuPart = new float[5 * cols];
            t.dequantizeRows(7, 5, cpuPart, 0);
            assertThat(gpu.dequantizeOnDevice(t, 7, 5)).isEqualTo(cpuPart);
        }
    }

    @Test
    void linearProductsMatchTheCpuForNf4AndDenseWeights() {
        int n = 1001, k = 67;
        WeightMatrix[] weights = {Nf4Tensor.quantize(random(n * k, 2, 1), n, k, 64, true),
                DenseMatrix.ofFloats(random(n * k, 3, 1), n, k)};
        float[] bias = random(n, 4, 1);
        for (int m : new int[]{1, 9}) {
            float[] x = random(m * k, 5, 1);
            float[] dy = random(m * n, 6, 1);
            for (WeightMatrix w : weights) {
                float[] yc = new float[m * n];
                float[] yg = new float[m * n];
                cpu.linearForward(yc, x, m, w, bias);
                gpu.linearForward(yg, x, m, w, bias);
                assertThat(maxError(yg, yc)).as("forward m=%d %s", m, w.getClass().getSimpleName()).isLessThan(1e-5);
                float[] dxc = random(m * k, 7, 1);
                float[] dxg = dxc.clone();
                cpu.linearBackward(dxc, dy, m, w);
                gpu.linearBackward(dxg, dy, m, w);
                assertThat(maxError(dxg, dxc)).as("backward m=%d %s", m, w.getClass().getSimpleName()).isLessThan(1e-5);
            }
        }
    }

    @Test
    void batchedProductsMatchTheCpuInEveryTransposition() {
        int m = 7, n = 5, k = 11, count = 3;
        for (boolean ta : new boolean[]{false, true}) {
            for (boolean tb : new boolean[]{false, true}) {
                int lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3;
                float[] a = random(count * 100 + 200, 8, 1);
                float[] b = random(count * 100 + 200, 9, 1);
                float[] c = random(count * 100 + 200, 10, 1);
                int[] aOff = {3, 103, 203}, bOff = {1, 101, 201}, cOff = {0, 100, 200};
                float[] cc = c.clone();
                float[] cg = c.clone();
                cpu.sgemmBatched(ta, tb, m, n, k, 0.5f, a, aOff, lda, b, bOff, ldb, 0.25f, cc, cOff, ldc);
                gpu.sgemmBatched(ta, tb, m, n, k, 0.5f, a, aOff, lda, b, bOff, ldb, 0.25f, cg, cOff, ldc);
                assertThat(maxError(cg, cc)).as("transA %s transB %s", ta, tb).isLessThan(1e-5);
            }
        }
    }

    @Test
    void rmsNormForwardAndBackwardMatchTheCpu() {
        int n = 13, c = 300;
        float[] x = random(n * c, 11, 2);
        float[] w = random(c, 12, 1);
        float[] outC = new float[n * c], rstdC = new float[n], outG = new float[n * c], rstdG = new float[n];
        RmsNorm.forward(cpu, outC, rstdC, x, w, n, c, 1e-5);
        onGpu.rmsNormForward(outG, rstdG, x, w, n, c, 1e-5);
        assertThat(maxError(outG, outC)).isLessThan(1e-6);
        assertThat(maxError(rstdG, rstdC)).isLessThan(1e-6);
        float[] dout = random(n * c, 13, 1);
        float[] dxC = random(n * c, 14, 1);
        float[] dxG = dxC.clone();
        RmsNorm.backward(cpu, dxC, null, dout, x, w, rstdC, n, c);
        onGpu.rmsNormBackward(dxG, dout, x, w, rstdC, n, c);
        assertThat(maxError(dxG, dxC)).isLessThan(1e-6);
    }

    @Test
    void swiGluForwardAndBackwardMatchTheCpu() {
        int n = 100_003;
        float[] gate = random(n, 15, 6), up = random(n, 16, 2), dout = random(n, 17, 1);
        float[] outC = new float[n], outG = new float[n];
        SwiGlu.forward(cpu, outC, gate, up, n);
        onGpu.swiGluForward(outG, gate, up, n);
        assertThat(maxError(outG, outC)).isLessThan(1e-6);
        float[] dgC = random(n, 18, 1), duC = random(n, 19, 1);
        float[] dgG = dgC.clone(), duG = duC.clone();
        SwiGlu.backward(cpu, dgC, duC, dout, gate, up, n);
        onGpu.swiGluBackward(dgG, duG, dout, gate, up, n);
        assertThat(maxError(dgG, dgC)).isLessThan(1e-6);
        assertThat(maxError(duG, duC)).isLessThan(1e-6);
    }

    @Test
    void adamWStepsMatchTheCpuOptimizer() {
        int n = 10_001;
        AdamW.Config config = new AdamW.Config(0.9, 0.999, 1e-8, 0.01);
        AdamW cpuOpt = new AdamW(config, n);
        float[] pC = random(n, 20, 1);
        float[] pG = pC.clone();
        float[] m = new float[n], v = new float[n];
        for (int step = 1; step <= 5; step++) {
            float[] g = random(n, 100 + step, 1);
            cpuOpt.step(pC, g, 1e-3);
            onGpu.adamwStep(pG, g, m, v, config, 1e-3, step);
        }
        assertThat(maxError(pG, pC)).isLessThan(1e-6);
        assertThat(maxError(m, cpuOpt.expAvg())).isLessThan(1e-6);
        assertThat(maxError(v, cpuOpt.expAvgSq())).isLessThan(1e-6);
    }

    @Test
    void aFailingCudaCallNamesItself() {
        assertThatThrownBy(() -> DeviceBuffer.allocate(1L << 50))
                .isInstanceOf(CudaException.class)
                .hasMessageStartingWith("cudaMalloc(" + (1L << 50) + " bytes) failed: cudaErrorMemoryAllocation");
        gpu.synchronize();
    }
}
