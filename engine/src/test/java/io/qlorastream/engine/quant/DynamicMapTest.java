package io.qlorastream.engine.quant;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class DynamicMapTest {

    @Test
    void signedMapHasBitsandbytesLayout() {
        float[] map = DynamicMap.signed();
        assertThat(map).hasSize(256);
        for (int i = 1; i < 256; i++) {
            assertThat(map[i]).as("index %d", i).isGreaterThan(map[i - 1]);
        }
        // 127 negatives, 0, 127 positive mid-points, then 1.0
        assertThat(map[127]).isEqualTo(0f);
        assertThat(map[255]).isEqualTo(1.0f);
        for (int k = 0; k < 127; k++) {
            assertThat(map[k]).isEqualTo(-map[254 - k]);
        }
        // smallest magnitude: the single mid-point of [0.1, 1] (0.55) scaled by 1e-6
        assertThat(map[128]).isCloseTo(0.55e-6f, within(1e-12f));
        // largest below 1: the last of 64 mid-points of linspace(0.1, 1, 65): (0.9859375 + 1) / 2
        assertThat(map[254]).isCloseTo(0.99296875f, within(1e-6f));
        // entries where float32-step-by-step arithmetic would differ from bitsandbytes' table in the last bit
        assertThat(map[128]).isEqualTo(5.499999815583578e-07f);
        assertThat(map[143]).isEqualTo(0.0012812500353902578f);
        assertThat(map[226]).isEqualTo(0.5992187261581421f);
        assertThat(map[218]).isEqualTo(0.4867187738418579f);
        // the decade 1e-1 holds 32 values: mid-points of linspace(0.1, 1, 33) times 0.1
        assertThat(map[254 - 64]).isCloseTo(0.1f * (1f - 0.9f / 64), within(1e-6f));
    }

    @Test
    void quantizeFindsEveryCodeAndTheNearestNeighbour() {
        float[] map = DynamicMap.signed();
        for (int i = 0; i < 256; i++) {
            assertThat(DynamicMap.quantize(map, map[i])).as("value of index %d", i).isEqualTo(i);
        }
        java.util.SplittableRandom r = new java.util.SplittableRandom(7);
        for (int n = 0; n < 20000; n++) {
            float x = (float) (r.nextDouble() * 2 - 1);
            int q = DynamicMap.quantize(map, x);
            float best = Float.MAX_VALUE;
            for (float v : map) {
                best = Math.min(best, Math.abs(v - x));
            }
            assertThat(Math.abs(map[q] - x)).as("x = %s", x).isLessThanOrEqualTo(best * (1 + 1e-6f) + 1e-12f);
        }
        assertThat(DynamicMap.quantize(map, -1.0f)).isEqualTo(0);
        assertThat(DynamicMap.quantize(map, 1.0f)).isEqualTo(255);
    }
}
