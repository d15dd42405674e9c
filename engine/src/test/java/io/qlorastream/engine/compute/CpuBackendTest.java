package io.qlorastream.engine.compute;

import io.qlorastream.engine.quant.Nf4Tensor;
import io.qlorastream.engine.tensor.DenseMatrix;
import io.qlorastream.engine.tensor.WeightMatrix;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class CpuBackendTest {

    static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }

    static double[][] dense(WeightMatrix w) {
        float[] all = new float[w.rows() * w.cols()];
        w.dequantizeRows(0, w.rows(), all, 0);
        double[][] d = new double[w.rows()][w.cols()];
        for (int i = 0; i < w.rows(); i++) {
            for (int j = 0; j < w.cols(); j++) {
                d[i][j] = all[i * w.cols() + j];
            }
        }
        return d;
    }

    /** A low-rank term over plain arrays, adding itself with the reference loops when a backend has no fused path. */
    private record PlainLowRank(float[] ax, int r, float[] b, int bOffset, float scale) implements LowRank {
        @Override
        public void addTo(Backend be, float[] y, int m, int out) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < out; j++) {
                    float s = 0;
                    for (int c = 0; c < r; c++) {
                        s += ax[i * r + c] * b[bOffset + j * r + c];
                    }
                    y[i * out + j] += scale * s;
                }
            }
        }
    }

    @Test
    void linearForwardWithALowRankTermAddsScaleTimesAxBTransposedToTheProductAndBias() {
        int n = 1001, k = 67, r = 5, bOffset = 13; // B [n, r] sits at an offset inside a larger array, as LoRA's does
        WeightMatrix w = Nf4Tensor.quantize(random(n * k, 1), n, k, 64, true);
        double[][] wd = dense(w);
        float[] bias = random(n, 4);
        float[] b = random(bOffset + n * r + 7, 5);
        for (int m : new int[]{CpuBackend.SMALL_M, CpuBackend.SMALL_M + 1, 300}) { // added afterwards, then fused
            float[] x = random(m * k, 3);
            float[] ax = random(m * r, 6);
            for (float[] withBias : new float[][]{null, bias}) {
                try (CpuBackend be = new CpuBackend(3)) {
                    float[] y = new float[m * n];
                    be.linearForward(y, x, m, w, withBias, new PlainLowRank(ax, r, b, bOffset, 0.75f));
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < n; j++) {
                            double ref = withBias == null ? 0 : withBias[j];
                            for (int c = 0; c < k; c++) {
                                ref += x[i * k + c] * wd[j][c];
                            }
                            for (int c = 0; c < r; c++) {
                                ref += 0.75 * ax[i * r + c] * b[bOffset + j * r + c];
                            }
                            assertThat((double) y[i * n + j]).as("m %d row %d col %d", m, i, j).isCloseTo(ref, within(1e-4));
                        }
                    }
                }
            }
        }
    }

    @Test
    void linearForwardMatchesLoopsForNf4AndDenseWeightsWithBias() {
        int n = 1001, k = 67; // odd sizes, many row blocks, ragged NF4 blocks
        WeightMatrix[] weights = {
                Nf4Tensor.quantize(random(n * k, 1), n, k, 64, true),
                DenseMatrix.ofFloats(random(n * k, 2), n, k)};
        float[] bias = random(n, 4);
        for (int m : new int[]{1, CpuBackend.SMALL_M, CpuBackend.SMALL_M + 1}) { // Java dot path and sgemm path
            float[] x = random(m * k, 3);
            for (int threads : new int[]{1, 3}) {
                try (CpuBackend be = new CpuBackend(threads)) {
                    for (WeightMatrix w : weights) {
                        double[][] wd = dense(w);
                        float[] y = new float[m * n];
                        be.linearForward(y, x, m, w, bias);
                        for (int i = 0; i < m; i++) {
                            for (int j = 0; j < n; j++) {
                                double ref = bias[j];
                                for (int c = 0; c < k; c++) {
                                    ref += x[i * k + c] * wd[j][c];
                                }
                                assertThat((double) y[i * n + j]).isCloseTo(ref, within(1e-4));
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void linearBackwardAccumulatesDyTimesW() {
        int m = 4, n = 333, k = 40;
        WeightMatrix w = Nf4Tensor.quantize(random(n * k, 5), n, k, 64, false);
        double[][] wd = dense(w);
        float[] dy = random(m * n, 6);
        float[] start = random(m * k, 7);
        for (int threads : new int[]{1, 2, 5}) {
            try (CpuBackend be = new CpuBackend(threads)) {
                float[] dx = start.clone();
                be.linearBackward(dx, dy, m, w);
                for (int i = 0; i < m; i++) {
                    for (int c = 0; c < k; c++) {
                        double ref = start[i * k + c];
                        for (int j = 0; j < n; j++) {
                            ref += dy[i * n + j] * wd[j][c];
                        }
                        assertThat((double) dx[i * k + c]).isCloseTo(ref, within(1e-4));
                    }
                }
            }
        }
    }

    @Test
    void sgemmBatchedRunsEachStridedProduct() {
        // two 3x4 · (2x4)ᵀ products taken from interleaved columns of shared arrays, alpha 0.5, beta 1
        int m = 3, n = 2, k = 4, lda = 8, ldb = 8, ldc = 4;
        float[] a = random(m * lda, 8);
        float[] b = random(n * ldb, 9);
        float[] c = random(m * ldc, 10);
        float[] c0 = c.clone();
        try (CpuBackend be = new CpuBackend(2)) {
            be.sgemmBatched(false, true, m, n, k, 0.5f, a, new int[]{0, 4}, lda, b, new int[]{0, 4}, ldb,
                    1f, c, new int[]{0, 2}, ldc);
        }
        for (int e = 0; e < 2; e++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double ref = c0[i * ldc + e * 2 + j];
                    for (int p = 0; p < k; p++) {
                        ref += 0.5 * a[i * lda + e * 4 + p] * b[j * ldb + e * 4 + p];
                    }
                    assertThat((double) c[i * ldc + e * 2 + j]).isCloseTo(ref, within(1e-5));
                }
            }
        }
    }

    @Test
    void sgemmBatchedWithBetaZeroOverwritesItsProductsAndKeepsTheGapsBetweenThem() {
        // large enough that staging is split over the threads; products [m, n] written at offsets with and without gaps
        int m = 64, n = 48, k = 40, count = 30;
        float[] a = random(count * m * k, 11);
        float[] b = random(count * n * k, 12);
        int[] aOff = new int[count];
        int[] bOff = new int[count];
        int[] dense = new int[count];
        int[] gapped = new int[count];
        for (int e = 0; e < count; e++) {
            aOff[e] = e * m * k;
            bOff[e] = e * n * k;
            dense[count - 1 - e] = e * m * n; // any order
            gapped[e] = e * (m * n + 7);
        }
        try (CpuBackend be = new CpuBackend(2)) {
            for (int[] cOff : new int[][]{dense, gapped}) {
                float[] c = random(count * (m * n + 7), 13);
                float[] before = c.clone();
                be.sgemmBatched(false, true, m, n, k, 1f, a, aOff, k, b, bOff, k, 0f, c, cOff, n);
                boolean[] written = new boolean[c.length];
                for (int e = 0; e < count; e++) {
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < n; j++) {
                            double ref = 0;
                            for (int p = 0; p < k; p++) {
                                ref += (double) a[aOff[e] + i * k + p] * b[bOff[e] + j * k + p];
                            }
                            int at = cOff[e] + i * n + j;
                            written[at] = true;
                            assertThat((double) c[at]).isCloseTo(ref, within(1e-4));
                        }
                    }
                }
                for (int i = 0; i < c.length; i++) {
                    if (!written[i]) {
                        assertThat(c[i]).as("element %d outside every product", i).isEqualTo(before[i]);
                    }
                }
            }
        }
        assertThat(CpuBackend.tilesSpan(dense, m, n, n)).isTrue();
        assertThat(CpuBackend.tilesSpan(gapped, m, n, n)).isFalse();
        assertThat(CpuBackend.tilesSpan(dense, m, n, n + 1)).isFalse();
    }

    @Test
    void parallelForVisitsEveryIndexOnceAndPropagatesErrors() {
        try (CpuBackend be = new CpuBackend(3)) {
            int[] hits = new int[101];
            be.parallelFor(101, i -> hits[i]++);
            assertThat(hits).containsOnly(1);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> be.parallelFor(10, i -> {
                if (i == 7) {
                    throw new IllegalStateException("boom at 7");
                }
            })).hasMessage("boom at 7");
        }
    }

    @Test
    void sgemmPeakIsMeasurable() {
        assertThat(CpuBackend.sgemmGflops(64, 64, 64, 1, 2)).isPositive();
    }
}
