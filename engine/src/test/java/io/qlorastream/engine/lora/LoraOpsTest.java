package io.qlorastream.engine.lora;

import io.qlorastream.engine.config.Projection;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The LoRA term is linear in each of A, B and x separately, and the test loss {@code Σ w·y} is linear in y, so
 * a central difference with a large step (h = 0.5) is exact up to float rounding of the forward (≈1e-6 relative
 * here): the tolerances below (1e-3 absolute on gradients of order 1) leave room for that rounding only.
 */
class LoraOpsTest {
    static final int TOKENS = 5;

    static LoraModule randomModule(Projection projection, boolean rslora, long seed) {
        LoraConfig c = LoraConfig.qloraDefaults().withR(3).withAlpha(5).withRslora(rslora);
        LoraAdapter a = LoraAdapter.initialize(c, TestModels.small(), seed);
        Random rnd = new Random(seed);
        for (int i = 0; i < a.params.length; i++) {
            a.params[i] = (float) rnd.nextGaussian() * 0.5f; // B non-zero too, so every gradient is exercised
        }
        return a.module(1, projection);
    }

    static float[] random(int n, long seed) {
        Random rnd = new Random(seed);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) rnd.nextGaussian();
        }
        return out;
    }

    /** Σ w·(y0 + lora(x)) with the float forward. */
    static double loss(LoraModule m, float[] x, float[] y0, float[] w) {
        float[] y = y0.clone();
        LoraOps.forward(m, x, 0, TOKENS, new float[TOKENS * m.r], y, 0);
        double s = 0;
        for (int i = 0; i < y.length; i++) {
            s += (double) w[i] * y[i];
        }
        return s;
    }

    @Test
    void forwardAddsScaledBAxToTheOutput() {
        for (boolean rslora : new boolean[]{false, true}) {
            LoraModule m = randomModule(Projection.DOWN, rslora, 1);
            float[] x = random(TOKENS * m.in, 2);
            float[] y0 = random(TOKENS * m.out, 3);
            float[] y = y0.clone();
            LoraOps.forward(m, x, 0, TOKENS, new float[TOKENS * m.r], y, 0);
            double scaling = rslora ? 5 / Math.sqrt(3) : 5 / 3.0;
            for (int t = 0; t < TOKENS; t++) {
                for (int o = 0; o < m.out; o++) {
                    double s = 0;
                    for (int k = 0; k < m.r; k++) {
                        double ax = 0;
                        for (int i = 0; i < m.in; i++) {
                            ax += (double) m.params[m.aOffset + k * m.in + i] * x[t * m.in + i];
                        }
                        s += m.params[m.bOffset + o * m.r + k] * ax;
                    }
                    assertThat((double) y[t * m.out + o]).isCloseTo(y0[t * m.out + o] + scaling * s, within(1e-4));
                }
            }
        }
    }

    @Test
    void backwardMatchesFiniteDifferencesForABAndX() {
        for (Projection proj : new Projection[]{Projection.K, Projection.DOWN}) {
            LoraModule m = randomModule(proj, false, 11);
            float[] x = random(TOKENS * m.in, 12);
            float[] y0 = random(TOKENS * m.out, 13);
            float[] w = random(TOKENS * m.out, 14);
            float[] ax = new float[TOKENS * m.r];
            LoraOps.forward(m, x, 0, TOKENS, ax, y0.clone(), 0);
            float[] dx = new float[x.length];
            LoraOps.backward(m, x, 0, TOKENS, ax, w, 0, dx, 0, new float[TOKENS * m.r]);
            float h = 0.5f;
            for (int i = m.aOffset; i < m.aOffset + m.size(); i++) {
                float keep = m.params[i];
                m.params[i] = keep + h;
                double plus = loss(m, x, y0, w);
                m.params[i] = keep - h;
                double minus = loss(m, x, y0, w);
                m.params[i] = keep;
                assertThat((double) m.grads[i]).as("%s param %d", proj, i - m.aOffset).isCloseTo((plus - minus) / (2 * h), within(1e-3));
            }
            for (int i = 0; i < x.length; i++) {
                float keep = x[i];
                x[i] = keep + h;
                double plus = loss(m, x, y0, w);
                x[i] = keep - h;
                double minus = loss(m, x, y0, w);
                x[i] = keep;
                assertThat((double) dx[i]).as("%s dx %d", proj, i).isCloseTo((plus - minus) / (2 * h), within(1e-3));
            }
        }
    }

    @Test
    void backwardAccumulatesIntoGradientsAndInputGradient() {
        LoraModule m = randomModule(Projection.Q, false, 21);
        float[] x = random(TOKENS * m.in, 22);
        float[] dy = random(TOKENS * m.out, 23);
        float[] ax = new float[TOKENS * m.r];
        LoraOps.forward(m, x, 0, TOKENS, ax, new float[TOKENS * m.out], 0);
        float[] dx = new float[x.length];
        LoraOps.backward(m, x, 0, TOKENS, ax, dy, 0, dx, 0, new float[TOKENS * m.r]);
        float[] once = java.util.Arrays.copyOfRange(m.grads, m.aOffset, m.aOffset + m.size());
        float[] dxOnce = dx.clone();
        LoraOps.backward(m, x, 0, TOKENS, ax, dy, 0, dx, 0, new float[TOKENS * m.r]);
        // the second pass adds its per-token terms onto the first pass's totals, so only float rounding separates it from 2x
        for (int i = 0; i < once.length; i++) {
            assertThat(m.grads[m.aOffset + i]).isCloseTo(2 * once[i], within(1e-5f * (1 + Math.abs(once[i]))));
        }
        for (int i = 0; i < dx.length; i++) {
            assertThat(dx[i]).isCloseTo(2 * dxOnce[i], within(1e-5f * (1 + Math.abs(dxOnce[i]))));
        }
    }

    @Test
    void offsetsSelectRowsInsideLargerBuffers() {
        LoraModule m = randomModule(Projection.V, false, 31);
        float[] x = random(TOKENS * m.in, 32);
        float[] y = new float[TOKENS * m.out];
        LoraOps.forward(m, x, 0, TOKENS, new float[TOKENS * m.r], y, 0);
        float[] xPadded = new float[7 + x.length];
        System.arraycopy(x, 0, xPadded, 7, x.length);
        float[] yPadded = new float[3 + y.length];
        LoraOps.forward(m, xPadded, 7, TOKENS, new float[TOKENS * m.r], yPadded, 3);
        assertThat(java.util.Arrays.copyOfRange(yPadded, 3, yPadded.length)).isEqualTo(y);
    }

    /** The chain x → dropout → LoRA: its input gradient matches finite differences (still linear in x). */
    @Test
    void dropoutChainMatchesFiniteDifferences() {
        LoraModule m = randomModule(Projection.GATE, false, 41);
        LoraDropout drop = new LoraDropout(0.3, 99);
        long key = drop.key(m.layer, m.projection);
        float[] x = random(TOKENS * m.in, 42);
        float[] w = random(TOKENS * m.out, 43);
        java.util.function.ToDoubleFunction<float[]> f = in -> {
            float[] xd = new float[in.length];
            drop.forward(key, in, 0, in.length, xd, 0);
            return loss(m, xd, new float[TOKENS * m.out], w);
        };
        float[] xd = new float[x.length];
        drop.forward(key, x, 0, x.length, xd, 0);
        float[] ax = new float[TOKENS * m.r];
        LoraOps.forward(m, xd, 0, TOKENS, ax, new float[TOKENS * m.out], 0);
        float[] dxd = new float[x.length];
        LoraOps.backward(m, xd, 0, TOKENS, ax, w, 0, dxd, 0, new float[TOKENS * m.r]);
        float[] dx = new float[x.length];
        drop.backward(key, dxd, 0, x.length, dx, 0);
        int dropped = 0;
        for (int i = 0; i < x.length; i++) {
            float keep = x[i];
            x[i] = keep + 0.5f;
            double plus = f.applyAsDouble(x);
            x[i] = keep - 0.5f;
            double minus = f.applyAsDouble(x);
            x[i] = keep;
            assertThat((double) dx[i]).as("dx %d", i).isCloseTo(plus - minus, within(1e-3));
            if (xd[i] == 0f) {
                dropped++;
                assertThat(dx[i]).isZero();
            } else {
                assertThat(xd[i]).isEqualTo(x[i] * (float) (1 / 0.7));
            }
        }
        assertThat(dropped).isPositive().isLessThan(x.length);
    }

    /** The dropout-aware pair equals the explicit chain, and with p = 0 or no dropout equals the plain functions. */
    @Test
    void dropoutAwareForwardAndBackwardEqualTheExplicitChain() {
        LoraModule m = randomModule(Projection.UP, false, 51);
        float[] x = random(TOKENS * m.in, 52);
        float[] dy = random(TOKENS * m.out, 53);
        LoraDropout drop = new LoraDropout(0.25, 3);
        drop.nextMicroBatch();
        long key = drop.key(m.layer, m.projection);
        float[] xd = new float[x.length];
        drop.forward(key, x, 0, x.length, xd, 0);
        float[] yChain = new float[TOKENS * m.out];
        float[] axChain = new float[TOKENS * m.r];
        LoraOps.forward(m, xd, 0, TOKENS, axChain, yChain, 0);
        float[] gradsBefore = m.grads.clone();
        float[] dxd = new float[x.length];
        LoraOps.backward(m, xd, 0, TOKENS, axChain, dy, 0, dxd, 0, new float[TOKENS * m.r]);
        float[] dxChain = new float[x.length];
        drop.backward(key, dxd, 0, x.length, dxChain, 0);
        float[] gradsChain = m.grads.clone();
        System.arraycopy(gradsBefore, 0, m.grads, 0, gradsBefore.length);

        float[] y = new float[TOKENS * m.out];
        float[] ax = new float[TOKENS * m.r];
        LoraOps.forward(m, drop, x, 0, TOKENS, new float[x.length], ax, y, 0);
        float[] dx = new float[x.length];
        LoraOps.backward(m, drop, x, 0, TOKENS, new float[x.length], ax, dy, 0, dx, 0, new float[x.length], new float[TOKENS * m.r]);
        assertThat(y).isEqualTo(yChain);
        assertThat(dx).isEqualTo(dxChain);
        assertThat(m.grads).isEqualTo(gradsChain);

        float[] yPlain = new float[TOKENS * m.out];
        LoraOps.forward(m, x, 0, TOKENS, new float[TOKENS * m.r], yPlain, 0);
        float[] yNone = new float[TOKENS * m.out];
        LoraOps.forward(m, null, x, 0, TOKENS, null, new float[TOKENS * m.r], yNone, 0);
        float[] yZero = new float[TOKENS * m.out];
        LoraOps.forward(m, new LoraDropout(0, 3), x, 0, TOKENS, null, new float[TOKENS * m.r], yZero, 0);
        assertThat(yNone).isEqualTo(yPlain);
        assertThat(yZero).isEqualTo(yPlain);
        assertThat(y).isNotEqualTo(yPlain);
    }
}
