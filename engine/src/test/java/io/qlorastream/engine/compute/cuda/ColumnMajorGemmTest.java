package io.qlorastream.engine.compute.cuda;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The row-major → column-major mapping {@link CudaBackend} hands cuBLAS, checked on the CPU: a Java model of
 * {@code cublasSgemm} (column-major, as its documentation defines it) run with the mapped arguments on the same
 * arrays must compute the row-major product, in every transposition, with strides and offsets, and in the two
 * call shapes the linear layers use.
 */
class ColumnMajorGemmTest {

    /** cublasSgemm's definition: C = alpha·op(A)·op(B) + beta·C, column-major, op(A) [m,k], op(B) [k,n]. */
    static void cublasModel(boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, int aOff, int lda,
                            float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    float av = ta ? a[aOff + p + i * lda] : a[aOff + i + p * lda];
                    float bv = tb ? b[bOff + j + p * ldb] : b[bOff + p + j * ldb];
                    s += (double) av * bv;
                }
                c[cOff + i + j * ldc] = (float) (alpha * s + beta * c[cOff + i + j * ldc]);
            }
        }
    }

    /** What CudaBackend.gemm does: the mapped call, B first. */
    static void viaMapping(boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, int aOff, int lda,
                           float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        CudaBackend.ColumnMajorGemm g = CudaBackend.ColumnMajorGemm.of(ta, tb, m, n, k);
        cublasModel(g.transFirst(), g.transSecond(), g.m(), g.n(), g.k(), alpha, b, bOff, ldb, a, aOff, lda, beta, c, cOff, ldc);
    }

    /** The row-major product the backend promises. */
    static void rowMajor(boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, int aOff, int lda,
                         float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    float av = ta ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                    float bv = tb ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
                    s += (double) av * bv;
                }
                c[cOff + i * ldc + j] = (float) (alpha * s + beta * c[cOff + i * ldc + j]);
            }
        }
    }

    static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextDouble() - 0.5);
        }
        return x;
    }

    @Test
    void theMappedColumnMajorCallComputesTheRowMajorProductInEveryTransposition() {
        int m = 5, n = 7, k = 3;
        for (boolean ta : new boolean[]{false, true}) {
            for (boolean tb : new boolean[]{false, true}) {
                int lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3;
                float[] a = random(200, 1), b = random(200, 2), c = random(200, 3);
                float[] expected = c.clone();
                float[] actual = c.clone();
                rowMajor(ta, tb, m, n, k, 0.5f, a, 4, lda, b, 9, ldb, 0.25f, expected, 6, ldc);
                viaMapping(ta, tb, m, n, k, 0.5f, a, 4, lda, b, 9, ldb, 0.25f, actual, 6, ldc);
                for (int i = 0; i < c.length; i++) {
                    assertThat(actual[i]).as("transA %s transB %s element %d", ta, tb, i).isCloseTo(expected[i], within(1e-6f));
                }
            }
        }
    }

    @Test
    void theLinearLayerCallsComputeYEqualsXWTransposedAndDxPlusEqualsDyW() {
        int m = 4, n = 9, k = 6, r0 = 3, rc = 5; // one block of weight rows [r0, r0 + rc)
        float[] x = random(m * k, 4), w = random(n * k, 5), dy = random(m * n, 6), dx0 = random(m * k, 7);
        // forward as linearForward issues it: gemm(false, true, m, rc, k, x, k, W[r0..], k, 0, y + r0, n)
        float[] y = new float[m * n];
        viaMapping(false, true, m, rc, k, 1f, x, 0, k, w, r0 * k, k, 0f, y, r0, n);
        // backward as linearBackward issues it: gemm(false, false, m, k, rc, dy + r0, n, W[r0..], k, 1, dx, k)
        float[] dx = dx0.clone();
        viaMapping(false, false, m, k, rc, 1f, dy, r0, n, w, r0 * k, k, 1f, dx, 0, k);
        for (int i = 0; i < m; i++) {
            for (int j = r0; j < r0 + rc; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    s += (double) x[i * k + p] * w[j * k + p];
                }
                assertThat((double) y[i * n + j]).isCloseTo(s, within(1e-5));
            }
            for (int p = 0; p < k; p++) {
                double s = dx0[i * k + p];
                for (int j = r0; j < r0 + rc; j++) {
                    s += (double) dy[i * n + j] * w[j * k + p];
                }
                assertThat((double) dx[i * k + p]).isCloseTo(s, within(1e-5));
            }
        }
    }
}
