package io.qlorastream.engine.lora;

import io.qlorastream.engine.compute.CpuBackend;
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
        Rng r = new Rng(5);
        int tokens = 9, in = 37, out = 23, rank = 5;
        float[] params = random(r, rank * in + out * rank);
        LoraModule m = new LoraModule(0, "q_proj", in, out, rank, 0.7f, params, new float[params.length], 0);
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
        try (CpuBackend one = new CpuBackend(1); CpuBackend three = new CpuBackend(3)) {
            float[][] ref = run(null, true);
            float[][] a = run(one, false);
            float[][] b = run(three, false);
            for (int j = 0; j < 3; j++) {
                assertThat(b[j]).isEqualTo(a[j]);
                for (int i = 0; i < ref[j].length; i++) {
                    assertThat(Math.abs(a[j][i] - ref[j][i])).as("output %d [%d]", j, i).isLessThanOrEqualTo(1e-5f + 1e-5f * Math.abs(ref[j][i]));
                }
            }
        }
    }
}
