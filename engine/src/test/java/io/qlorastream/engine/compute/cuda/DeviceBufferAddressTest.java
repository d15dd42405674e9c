package io.qlorastream.engine.compute.cuda;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * How JavaCPP passes a pointer's position to native code, checked in host memory with {@link Pointer#memcpy} (a
 * {@code void*} function, as cudaMemcpy is): a {@code void*} argument gets its position added in bytes whatever the
 * Java class, so a FloatPointer positioned at element 2 lands 2 bytes in, not 8. DeviceBuffer's copies and the
 * training engine's cuBLAS and memcpy arguments therefore pass exact addresses at position 0 ({@link DeviceBuffer#at}).
 */
class DeviceBufferAddressTest {

    @Test
    void aVoidPointerArgumentTakesItsPositionInBytesSoCopiesUseExactAddresses() {
        try (FloatPointer src = new FloatPointer(1f, 2f, 3f, 4f, 5f); FloatPointer dst = new FloatPointer(1)) {
            Pointer.memcpy(dst, src.position(2), Float.BYTES);
            assertThat(dst.get(0)).as("positioned FloatPointer as void*: 2 bytes in").isNotEqualTo(3f);
            src.position(0);
            Pointer.memcpy(dst, DeviceBuffer.at(src.address() + 2L * Float.BYTES), Float.BYTES);
            assertThat(dst.get(0)).isEqualTo(3f);
            Pointer.memcpy(DeviceBuffer.at(src.address() + 4L * Float.BYTES), dst, Float.BYTES);
            assertThat(src.get(4)).isEqualTo(3f);
        }
    }

    @Test
    void anExactAddressKeepsPositionZeroWhenViewedAsFloats() {
        long a = 0x7f00_0000_1000L;
        FloatPointer f = new FloatPointer(DeviceBuffer.at(a));
        assertThat(f.address()).isEqualTo(a);
        assertThat(f.position()).isZero();
    }
}
