package io.qlorastream.engine.compute.cuda;

import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Kernel arguments as cuLaunchKernel reads them, checked in host memory: pointer i of the parameter array points at a
 * slot whose first bytes are argument i in its own width (an int or float in the low, little-endian bytes), and the
 * native block is reused launch after launch (grown only for more arguments).
 */
class CudaKernelArgsTest {

    /** The long at a host address. */
    static long at(long where) {
        return new LongPointer(new Pointer() {
            {
                address = where;
            }
        }).get();
    }

    @Test
    void everyArgumentSitsInItsSlotInItsOwnWidth() {
        CudaKernels.Args args = new CudaKernels.Args().ptr(0x7f00_1234_5678L).i32(-2).i64(-3L).u64(0xF000_0000_0000_0001L)
                .f32(1.5f).f64(-0.25);
        try (CudaKernels.ArgBlock block = new CudaKernels.ArgBlock()) {
            PointerPointer<Pointer> params = block.fill(args);
            long[] slots = new long[6];
            for (int i = 0; i < 6; i++) {
                slots[i] = at(params.get(i).address());
            }
            assertThat(slots[0]).isEqualTo(0x7f00_1234_5678L);
            assertThat((int) slots[1]).isEqualTo(-2);
            assertThat(slots[2]).isEqualTo(-3L);
            assertThat(slots[3]).isEqualTo(0xF000_0000_0000_0001L);
            assertThat(Float.intBitsToFloat((int) slots[4])).isEqualTo(1.5f);
            assertThat(Double.longBitsToDouble(slots[5])).isEqualTo(-0.25);

            PointerPointer<Pointer> again = block.fill(new CudaKernels.Args().i32(7));
            assertThat(again.address()).isEqualTo(params.address());
            assertThat((int) at(again.get(0).address())).isEqualTo(7);

            CudaKernels.Args many = new CudaKernels.Args();
            for (int i = 0; i < 40; i++) {
                many.i64(i * 3L);
            }
            PointerPointer<Pointer> grown = block.fill(many);
            for (int i = 0; i < 40; i++) {
                assertThat(at(grown.get(i).address())).isEqualTo(i * 3L);
            }
        }
    }

    @Test
    void cublasOperandsPointAtTheExactAddress() {
        long a = 0x7f12_3456_7000L;
        org.bytedeco.javacpp.FloatPointer f = new org.bytedeco.javacpp.FloatPointer(DeviceBuffer.at(a));
        assertThat(f.address()).isEqualTo(a);
        assertThat(f.position()).isZero();
    }
}
