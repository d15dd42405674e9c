package io.qlorastream.engine.lora;

import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.config.Projection;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The threaded LoRA products against LoraOps' plain loops, and independent of the thread count. */
class LoraKernelsTest {

    static float[] random(Rng r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = r.nextFloat() - 0.5f;
        return a;
    }

    static float[][] run(CpuBackend be, boolean plain) {
        return run(be, plain, 9, 37, 23);
    }

    static float[][] run(CpuBackend be, boolean plain, int tokens, int in, int out) {
        Rng r = new Rng(5);
        int rank = 5;
        float[] params = random(r, rank * in + out * rank);
        LoraModule m = new LoraModule(0, Projection.Q, in, out, rank, 0.7f, params, new float[params.length], 0);
        float[] x = random(r, tokens * in);
        float[] dy = random(r, tokens * out);
        float[] y = random(r, tokens * out);
        float[] dx = random(r, tokens * in);
        float[] ax = new float[tokens * rank];
        float[] scratch = new float[tokens * rank];
        if (plain) {
            LoraOps.forward(m, x, 0, tokens, ax, y, 0);
            LoraOps.backward(m, x, 0, tokens, ax, dy, 0, dx, 0, scratch);
        } else {
            LoraKernels.forward(be, m, x, tokens, ax, y);
            LoraKernels.backward(be, m, x, tokens, ax, dy, dx, scratch);
        }
        return new float[][]{y, dx, m.grads};
    }

    @Test
    void matchesThePlainLoopsAndDoesNotDependOnThreads() {
        assertMatches(9, 37, 23);
        // several pieces: tokens 2 × (160, 140), in 4 × 192, out 3 × 144 + 88
        assertMatches(300, 768, 520);
    }

    @Test
    void piecesAreAnEvenNumberOfAtMostChunkRowsAMultipleOf16() {
        assertThat(LoraKernels.pieceSize(768)).isEqualTo(192);
        assertThat(LoraKernels.pieceSize(512)).isEqualTo(256);
        assertThat(LoraKernels.pieceSize(2048)).isEqualTo(256);
        assertThat(LoraKernels.pieceSize(5632)).isEqualTo(256);
        assertThat(LoraKernels.pieceSize(300)).isEqualTo(160);
        assertThat(LoraKernels.pieceSize(256)).isEqualTo(256);
        assertThat(LoraKernels.pieceSize(5)).isEqualTo(16);
    }

    private static void assertMatches(int tokens, int in, int out) {
        try (CpuBackend one = new CpuBackend(1); CpuBackend three = new CpuBackend(3)) {
            float[][] ref = run(null, true, tokens, in, out);
            float[][] a = run(one, false, tokens, in, out);
            float[][] b = run(three, false, tokens, in, out);
            int longest = Math.max(tokens, Math.max(in, out));
            for (int j = 0; j < 3; j++) {
                assertThat(b[j]).isEqualTo(a[j]);
                for (int i = 0; i < ref[j].length; i++) {
                    // float sums of up to `longest` terms of |x| < 0.5: rounding grows with their length
                    assertThat(Math.abs(a[j][i] - ref[j][i])).as("output %d [%d]", j, i)
                            .isLessThanOrEqualTo(1e-5f + 1e-5f * Math.abs(ref[j][i]) + 1e-7f * longest);
                }
            }
        }
    }
}
