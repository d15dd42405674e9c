package io.qlorastream.engine.optim;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class AdamWTest {
    /** PyTorch's AdamW update in double precision, written from torch.optim.AdamW's documented algorithm. */
    static final class Reference {
        final double b1, b2, eps, wd;
        final double[] p, m, v;
        int t;

        Reference(AdamW.Config c, float[] init) {
            b1 = c.beta1();
            b2 = c.beta2();
            eps = c.eps();
            wd = c.weightDecay();
            p = new double[init.length];
            for (int i = 0; i < init.length; i++) {
                p[i] = init[i];
            }
            m = new double[init.length];
            v = new double[init.length];
        }

        void step(float[] g, double lr) {
            t++;
            for (int i = 0; i < p.length; i++) {
                p[i] -= lr * wd * p[i];
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                double mHat = m[i] / (1 - Math.pow(b1, t));
                double vHat = v[i] / (1 - Math.pow(b2, t));
                p[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
            }
        }
    }

    static float[] gaussian(Random r, int n, double scale) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (r.nextGaussian() * scale);
        }
        return out;
    }

    @Test
    void followsPytorchAdamWOverManyStepsWithWeightDecay() {
        AdamW.Config c = new AdamW.Config(0.9, 0.95, 1e-6, 0.1);
        Random rnd = new Random(1);
        float[] p = gaussian(rnd, 64, 1);
        Reference ref = new Reference(c, p);
        AdamW opt = new AdamW(c, p.length);
        for (int s = 0; s < 30; s++) {
            float[] g = gaussian(rnd, p.length, 0.01 * (1 + s % 3));
            double lr = 1e-2 * (s + 1) / 30;
            opt.step(p, g, lr);
            ref.step(g, lr);
        }
        assertThat(opt.stepCount()).isEqualTo(30);
        for (int i = 0; i < p.length; i++) {
            // float32 arithmetic vs double: relative error of a few ulps per step on parameters of order 1
            assertThat((double) p[i]).isCloseTo(ref.p[i], within(1e-5 * (1 + Math.abs(ref.p[i]))));
            assertThat((double) opt.expAvg()[i]).isCloseTo(ref.m[i], within(1e-6 * (1e-2 + Math.abs(ref.m[i]))));
            assertThat((double) opt.expAvgSq()[i]).isCloseTo(ref.v[i], within(1e-5 * Math.abs(ref.v[i]) + 1e-12));
        }
    }

    @Test
    void epsIsAddedOutsideTheSquareRoot() {
        // gradients of 1e-9 with eps 1e-8: outside the root the first step is lr·g/(|g|+eps) = lr/11;
        // inside it (sqrt(v̂ + eps)) it would be ≈ lr·1e-5, four orders smaller
        AdamW.Config c = new AdamW.Config(0.9, 0.999, 1e-8, 0.0);
        float[] p = {1f, -1f};
        float[] g = {1e-9f, -1e-9f};
        Reference ref = new Reference(c, p);
        new AdamW(c, 2).step(p, g, 1e-3);
        ref.step(g, 1e-3);
        assertThat((double) p[0]).isCloseTo(ref.p[0], within(1e-7)).isCloseTo(1 - 1e-3 * 1e-9 / (1e-9 + 1e-8), within(1e-7));
        assertThat((double) p[1]).isCloseTo(-1 + 1e-3 * 1e-9 / (1e-9 + 1e-8), within(1e-7));
    }

    @Test
    void weightDecayIsDecoupledFromTheGradient() {
        // zero gradient: Adam's update is 0, only the decoupled decay p·(1 − lr·wd) acts (L2-in-gradient Adam would move p by ≈ lr)
        AdamW.Config c = new AdamW.Config(0.9, 0.999, 1e-8, 0.01);
        float[] p = {2f};
        AdamW opt = new AdamW(c, 1);
        opt.step(p, new float[]{0f}, 0.1);
        assertThat((double) p[0]).isCloseTo(2 * (1 - 0.1 * 0.01), within(1e-7));
    }

    @Test
    void restoreContinuesExactly() {
        AdamW.Config c = AdamW.Config.qlora();
        Random rnd = new Random(4);
        float[] p = gaussian(rnd, 16, 1);
        float[][] grads = new float[6][];
        for (int i = 0; i < grads.length; i++) {
            grads[i] = gaussian(rnd, 16, 0.1);
        }
        AdamW a = new AdamW(c, 16);
        float[] pa = p.clone();
        for (float[] g : grads) {
            a.step(pa, g, 2e-4);
        }
        AdamW b = new AdamW(c, 16);
        float[] pb = p.clone();
        for (int i = 0; i < 3; i++) {
            b.step(pb, grads[i], 2e-4);
        }
        AdamW resumed = new AdamW(c, 16);
        resumed.restore(b.stepCount(), b.expAvg().clone(), b.expAvgSq().clone());
        for (int i = 3; i < 6; i++) {
            resumed.step(pb, grads[i], 2e-4);
        }
        assertThat(pb).isEqualTo(pa);
        assertThat(resumed.expAvg()).isEqualTo(a.expAvg());
    }

    @Test
    void badSettingsAreNamed() {
        assertThatThrownBy(() -> new AdamW.Config(1.0, 0.999, 1e-8, 0)).hasMessageContaining("betas");
        assertThatThrownBy(() -> new AdamW.Config(0.9, 0.999, -1, 0)).hasMessageContaining("eps");
        assertThatThrownBy(() -> new AdamW(AdamW.Config.qlora(), 3).step(new float[3], new float[2], 1e-3)).hasMessageContaining("3 moments");
    }
}
