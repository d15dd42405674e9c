package io.qlorastream.engine.quant;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class Nf4TensorTest {
    private static final float[] CODE = Nf4Tensor.nf4Code();
    /** Largest half gap between adjacent NF4 codes: (−0.6961928 − (−1)) / 2. */
    private static final float MAX_HALF_GAP = (1f - 0.6961928009986877f) / 2;

    private static float[] gaussian(int n, long seed, double std) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = (float) (std * r.nextGaussian());
        }
        return w;
    }

    private static int nibble(byte[] packed, int i) {
        int b = packed[i >> 1] & 0xff;
        return (i & 1) == 0 ? b >> 4 : b & 15;
    }

    @Test
    void elementTwoIGoesInTheHighNibble() {
        float[] w = new float[64];
        w[0] = 1.0f;   // code 15
        w[1] = -1.0f;  // code 0
        w[2] = 0.0f;   // code 7
        w[3] = 0.5f;   // nearer 0.4407 (12) than 0.5626 (13)
        w[4] = -0.7f;  // nearer -0.6962 (1)
        w[5] = 0.3f;   // nearer 0.3379 (11) than 0.2461 (10)
        Nf4Tensor t = Nf4Tensor.quantize(w, 1, 64, 64, false);
        assertThat(t.packed()[0]).isEqualTo((byte) 0xF0);
        assertThat(t.packed()[1]).isEqualTo((byte) 0x7C);
        assertThat(t.packed()[2]).isEqualTo((byte) 0x1B);
        assertThat(t.packed()[3]).isEqualTo((byte) 0x77); // zeros → code 7 (0.0)
        assertThat(t.absmax()).containsExactly(1.0f);
    }

    @Test
    void roundsToTheNearestCode() {
        for (int i = 0; i < 15; i++) {
            double mid = ((double) CODE[i] + CODE[i + 1]) / 2;
            assertThat(Nf4Tensor.nf4Index((float) (mid - 1e-6))).as("below mid-point %d/%d", i, i + 1).isEqualTo(i);
            assertThat(Nf4Tensor.nf4Index((float) (mid + 1e-6))).as("above mid-point %d/%d", i, i + 1).isEqualTo(i + 1);
            assertThat(Nf4Tensor.nf4Index(CODE[i])).isEqualTo(i);
        }
        assertThat(Nf4Tensor.nf4Index(1.0f)).isEqualTo(15);
        assertThat(Nf4Tensor.nf4Index(Float.NaN)).isEqualTo(0);
        SplittableRandom r = new SplittableRandom(3);
        for (int n = 0; n < 100000; n++) {
            float x = (float) (r.nextDouble() * 2 - 1);
            int q = Nf4Tensor.nf4Index(x);
            for (float c : CODE) {
                assertThat(Math.abs(CODE[q] - x)).isLessThanOrEqualTo(Math.abs(c - x) + 1e-7f);
            }
        }
    }

    @Test
    void raggedLastBlockHasItsOwnAbsmaxAndOddCountIsPaddedWithAZeroValue() {
        float[] w = gaussian(5 * 25, 11, 1.0); // 125 values: blocks of 64 and 61, 63 bytes
        w[100] = 9f;
        Nf4Tensor t = Nf4Tensor.quantize(w, 5, 25, 64, false);
        assertThat(t.packed()).hasSize(63);
        assertThat(t.absmax()).hasSize(2);
        float max0 = 0;
        for (int i = 0; i < 64; i++) {
            max0 = Math.max(max0, Math.abs(w[i]));
        }
        assertThat(t.absmax()[0]).isEqualTo(max0);
        assertThat(t.absmax()[1]).isEqualTo(9f);
        assertThat(nibble(t.packed(), 100)).isEqualTo(15);
        assertThat(t.packed()[62] & 15).isEqualTo(7); // the padding value 0.0 → code 7, as bitsandbytes stores it
        float[] zeros = new float[3];
        assertThat(Nf4Tensor.quantize(zeros, 1, 3, 64, false).packed()[1]).isZero(); // all-zero block: 0·(1/0) = NaN → 0
        float[] out = new float[125];
        t.dequantizeRows(0, 5, out, 0);
        assertThat(out[124]).isEqualTo(CODE[nibble(t.packed(), 124)] * 9f);
    }

    @Test
    void allZeroBlockDequantizesToZero() {
        float[] w = new float[128];
        w[100] = 0.25f;
        Nf4Tensor t = Nf4Tensor.quantize(w, 2, 64, 64, false);
        float[] out = new float[128];
        t.dequantizeRows(0, 2, out, 0);
        for (int i = 0; i < 64; i++) {
            assertThat(out[i]).isEqualTo(0f);
        }
        assertThat(out[100]).isEqualTo(0.25f);
    }

    @Test
    void dequantizationErrorIsBoundedByHalfTheLargestCodeGap() {
        int rows = 33, cols = 70;
        float[] w = gaussian(rows * cols, 5, 0.05);
        Nf4Tensor t = Nf4Tensor.quantize(w, rows, cols, 64, false);
        float[] out = new float[rows * cols];
        t.dequantizeRows(0, rows, out, 0);
        double sumSq = 0, sumErr = 0;
        for (int i = 0; i < w.length; i++) {
            float absmax = t.absmax()[i / 64];
            float err = Math.abs(out[i] - w[i]);
            assertThat(err).as("element %d", i).isLessThanOrEqualTo(MAX_HALF_GAP * absmax * 1.0001f);
            assertThat(out[i]).isEqualTo(CODE[nibble(t.packed(), i)] * absmax);
            sumSq += (double) w[i] * w[i];
            sumErr += (double) err * err;
        }
        // NF4 on Gaussian weights: relative RMS error around 10%
        assertThat(Math.sqrt(sumErr / sumSq)).isLessThan(0.15);
    }

    @Test
    void anyRowRangeMatchesTheFullDequantization() {
        int rows = 9, cols = 37; // odd columns: rows start on odd elements and cross blocks
        float[] w = gaussian(rows * cols, 9, 1.0);
        for (boolean dq : new boolean[]{false, true}) {
            Nf4Tensor t = Nf4Tensor.quantize(w, rows, cols, 64, dq);
            float[] all = new float[rows * cols];
            t.dequantizeRows(0, rows, all, 0);
            for (int i = 0; i < all.length; i++) {
                assertThat(all[i]).isEqualTo(CODE[nibble(t.packed(), i)] * t.blockAbsmax(i / 64));
            }
            for (int start = 0; start < rows; start++) {
                for (int count = 1; start + count <= rows; count++) {
                    float[] part = new float[count * cols + 3];
                    t.dequantizeRows(start, count, part, 3);
                    for (int i = 0; i < count * cols; i++) {
                        assertThat(part[3 + i]).isEqualTo(all[start * cols + i]);
                    }
                }
            }
        }
    }

    @Test
    void doubleQuantKeepsTheCodesAndApproximatesTheAbsmax() {
        int rows = 256, cols = 160; // 640 blocks: nested blocks of 256, 256 and 128
        float[] w = gaussian(rows * cols, 21, 0.02);
        for (int i = 0; i < w.length; i += 997) {
            w[i] *= 40; // outliers spread the absmax
        }
        Nf4Tensor plain = Nf4Tensor.quantize(w, rows, cols, 64, false);
        Nf4Tensor dq = Nf4Tensor.quantize(w, rows, cols, 64, true);
        assertThat(dq.doubleQuant()).isTrue();
        assertThat(dq.packed()).isEqualTo(plain.packed()); // weights are quantized with the true absmax
        assertThat(dq.quantizedAbsmax()).hasSize(640);
        assertThat(dq.nestedAbsmax()).hasSize(3);
        assertThat(dq.nestedBlockSize()).isEqualTo(256);
        double mean = 0;
        for (float a : plain.absmax()) {
            mean += a;
        }
        mean /= 640;
        assertThat(dq.nestedOffset()).isEqualTo((float) mean);
        float[] map = dq.nestedQuantMap();
        assertThat(map).isEqualTo(DynamicMap.signed());
        for (int b = 0; b < 640; b++) {
            float truth = plain.absmax()[b];
            float nested = dq.nestedAbsmax()[b / 256];
            float expected = map[dq.quantizedAbsmax()[b] & 0xff] * nested + dq.nestedOffset();
            assertThat(dq.blockAbsmax(b)).isEqualTo(expected);
            // the signed dynamic map's widest half gap near ±1 is below 0.0071
            assertThat(Math.abs(expected - truth)).as("block %d", b).isLessThanOrEqualTo(0.0071f * nested + 1e-7f);
        }
        // the stored parts rebuild the same tensor
        Nf4Tensor rebuilt = Nf4Tensor.ofDoubleQuant(rows, cols, 64, dq.packed(), dq.quantizedAbsmax(), dq.quantMap(),
                256, dq.nestedAbsmax(), dq.nestedQuantMap(), dq.nestedOffset());
        float[] a = new float[rows * cols];
        float[] b = new float[rows * cols];
        dq.dequantizeRows(0, rows, a, 0);
        rebuilt.dequantizeRows(0, rows, b, 0);
        assertThat(b).isEqualTo(a);
    }

    @Test
    void residentBytesAreAboutFourPointOneTwoSevenBitsPerParameter() {
        int rows = 1024, cols = 4096;
        float[] w = gaussian(rows * cols, 1, 0.02);
        Nf4Tensor dq = Nf4Tensor.quantize(w, rows, cols, 64, true);
        long n = (long) rows * cols;
        assertThat(dq.residentBytes()).isEqualTo(n / 2 + n / 64 + 4 * (n / 64 / 256) + 4);
        double bits = dq.residentBytes() * 8.0 / n;
        assertThat(bits).isBetween(4.1269, 4.1271); // 4 + 8/64 + 32/(64·256)
        Nf4Tensor plain = Nf4Tensor.quantize(w, rows, cols, 64, false);
        assertThat(plain.residentBytes() * 8.0 / n).isEqualTo(4.5);
    }

    @Test
    void rejectsBadShapesAndBlockSizes() {
        assertThatThrownBy(() -> Nf4Tensor.quantize(new float[10], 3, 4, 64, true)).hasMessageContaining("[3, 4]");
        assertThatThrownBy(() -> Nf4Tensor.quantize(new float[12], 3, 4, 63, true)).hasMessageContaining("63");
        assertThatThrownBy(() -> Nf4Tensor.of(2, 2, 64, new byte[3], new float[1], Nf4Tensor.nf4Code()))
                .hasMessageContaining("3 bytes");
    }
}
