package io.qlorastream.engine.bench;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ProcessMemoryTest {
    @Test
    void peakResidentMemoryGrowsWithTouchedMemory() {
        long before = ProcessMemory.peakRssBytes();
        assertThat(before).isPositive();
        byte[] big = new byte[256 << 20];
        for (int i = 0; i < big.length; i += 4096) {
            big[i] = 1; // touch every page
        }
        long current = ProcessMemory.rssBytes(); // read first: the peak can only have grown since
        long after = ProcessMemory.peakRssBytes();
        assertThat(after).isGreaterThanOrEqualTo(current).isGreaterThanOrEqualTo(before);
        assertThat(after).isGreaterThanOrEqualTo(big.length);
        assertThat(big[4096]).isEqualTo((byte) 1);
    }
}
