package io.qlorastream.engine.compute.cuda;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaMalloc;
import static org.bytedeco.cuda.global.cudart.cudaMemcpy;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;
import static org.bytedeco.cuda.global.cudart.cudaMemset;

/**
 * One allocation of GPU memory (cudaMalloc), with blocking copies from and to Java arrays through a temporary native
 * staging buffer. Simple rather than fast: pinned, reused staging and asynchronous copies come with the GPU-resident
 * training loop.
 */
public final class DeviceBuffer implements AutoCloseable {
    private final Pointer pointer;
    private final long bytes;
    /** Emulated device memory (CPU tests of CudaTrainingModel's orchestration): a little-endian host slice, or null. */
    private final java.nio.ByteBuffer emu;
    private final long emuAddress;
    private boolean freed;

    private DeviceBuffer(Pointer pointer, long bytes) {
        this.pointer = pointer;
        this.bytes = bytes;
        this.emu = null;
        this.emuAddress = 0;
    }

    private DeviceBuffer(java.nio.ByteBuffer emu, long address) {
        this.pointer = null;
        this.bytes = emu.capacity();
        this.emu = emu.order(java.nio.ByteOrder.LITTLE_ENDIAN);
        this.emuAddress = address;
    }

    /** A buffer over emulated device memory at a fake device {@code address} (an emulator's allocation). */
    static DeviceBuffer emulated(java.nio.ByteBuffer slice, long address) {
        return new DeviceBuffer(slice, address);
    }

    /** Allocates {@code bytes} (at least 1) of device memory; its content is undefined. */
    public static DeviceBuffer allocate(long bytes) {
        Pointer p = new Pointer();
        CudaStatus.runtime("cudaMalloc(" + bytes + " bytes)", cudaMalloc(p, Math.max(1, bytes)));
        return new DeviceBuffer(p, bytes);
    }

    public static DeviceBuffer floats(long count) {
        return allocate(count * Float.BYTES);
    }

    /** A device copy of {@code src[from, from + n)}. */
    public static DeviceBuffer of(float[] src, int from, int n) {
        DeviceBuffer b = floats(n);
        b.upload(src, from, n, 0);
        return b;
    }

    public static DeviceBuffer of(float[] src) {
        return of(src, 0, src.length);
    }

    public static DeviceBuffer of(byte[] src) {
        DeviceBuffer b = allocate(src.length);
        try (BytePointer host = new BytePointer(Math.max(1, src.length))) {
            host.put(src, 0, src.length);
            CudaStatus.runtime("cudaMemcpy(host to device)", cudaMemcpy(b.pointer, host, src.length, cudaMemcpyHostToDevice));
        }
        return b;
    }

    /** Copies {@code src} to bytes {@code [0, src.length)} of this buffer. */
    public void uploadBytes(byte[] src) {
        ensureLive();
        if (src.length > bytes) {
            throw new IndexOutOfBoundsException(src.length + " bytes outside a device buffer of " + bytes + " bytes");
        }
        if (emu != null) {
            emu.put(0, src);
            return;
        }
        try (BytePointer host = new BytePointer(Math.max(1, src.length))) {
            host.put(src, 0, src.length);
            CudaStatus.runtime("cudaMemcpy(host to device)", cudaMemcpy(pointer, host, src.length, cudaMemcpyHostToDevice));
        }
    }

    /** Copies {@code src[0, n)} to ints {@code [0, n)} of this buffer. */
    public void uploadInts(int[] src, int n) {
        ensureLive();
        if ((long) n * Integer.BYTES > bytes) {
            throw new IndexOutOfBoundsException(n + " ints outside a device buffer of " + bytes + " bytes");
        }
        if (n == 0) {
            return;
        }
        if (emu != null) {
            for (int i = 0; i < n; i++) {
                emu.putInt(4 * i, src[i]);
            }
            return;
        }
        try (org.bytedeco.javacpp.IntPointer host = new org.bytedeco.javacpp.IntPointer(n)) {
            host.put(src, 0, n);
            CudaStatus.runtime("cudaMemcpy(host to device)", cudaMemcpy(pointer, host.position(0), (long) n * Integer.BYTES,
                    cudaMemcpyHostToDevice));
        }
    }

    /** Copies raw little-endian 16-bit values {@code src[0, n)} (e.g. bf16 bits) to shorts {@code [at, at + n)}. */
    public void uploadShorts(short[] src, int n, long at) {
        ensureLive();
        if (at < 0 || (at + n) * Short.BYTES > bytes) {
            throw new IndexOutOfBoundsException("shorts [" + at + ", " + (at + n) + ") outside a device buffer of " + bytes + " bytes");
        }
        if (n == 0) {
            return;
        }
        if (emu != null) {
            for (int i = 0; i < n; i++) {
                emu.putShort((int) (2 * (at + i)), src[i]);
            }
            return;
        }
        try (org.bytedeco.javacpp.ShortPointer host = new org.bytedeco.javacpp.ShortPointer(n)) {
            host.put(src, 0, n);
            CudaStatus.runtime("cudaMemcpy(host to device)", cudaMemcpy(bytesAt(Short.BYTES * at), host.position(0),
                    (long) n * Short.BYTES, cudaMemcpyHostToDevice));
        }
    }

    /** Copies doubles {@code [0, n)} of this buffer to {@code dst[0, n)}. */
    public void downloadDoubles(double[] dst, int n) {
        ensureLive();
        if ((long) n * Double.BYTES > bytes) {
            throw new IndexOutOfBoundsException(n + " doubles outside a device buffer of " + bytes + " bytes");
        }
        if (emu != null) {
            for (int i = 0; i < n; i++) {
                dst[i] = emu.getDouble(8 * i);
            }
            return;
        }
        try (org.bytedeco.javacpp.DoublePointer host = new org.bytedeco.javacpp.DoublePointer(Math.max(1, n))) {
            CudaStatus.runtime("cudaMemcpy(device to host)", cudaMemcpy(host, pointer, (long) n * Double.BYTES,
                    cudaMemcpyDeviceToHost));
            host.position(0).get(dst, 0, n);
        }
    }

    public long bytes() {
        return bytes;
    }

    /** The device address, for kernel arguments. */
    public long address() {
        ensureLive();
        return emu != null ? emuAddress : pointer.address();
    }

    /**
     * A pointer {@code byteOffset} bytes into this buffer with position 0, for {@code void*} arguments (cudaMemcpy):
     * JavaCPP adds a {@code void*} argument's position in bytes, whatever the Java pointer class, so a positioned
     * FloatPointer there would land 4× short (see {@link #at}).
     */
    Pointer bytesAt(long byteOffset) {
        ensureLive();
        return at(pointer.address() + byteOffset);
    }

    /**
     * A JavaCPP pointer at exactly {@code address} (position 0): correct for typed ({@code float*}) and untyped
     * ({@code void*}) native arguments alike. (JavaCPP adds a typed argument's position in elements but a {@code void*}
     * argument's in bytes: DeviceBufferAddressTest shows it with Pointer.memcpy, a {@code void*} function like
     * cudaMemcpy.)
     */
    static Pointer at(long address) {
        return new Address(address);
    }

    private static final class Address extends Pointer {
        Address(long address) {
            this.address = address;
        }
    }

    /** A float view starting {@code offset} floats in, for cuBLAS's typed {@code float*} arguments (no copy). */
    public FloatPointer floatsAt(long offset) {
        ensureLive();
        if (emu != null) {
            throw new UnsupportedOperationException("an emulated device buffer has no native pointer");
        }
        return new FloatPointer(pointer).position(offset);
    }

    /** Copies {@code src[from, from + n)} to floats {@code [at, at + n)} of this buffer. */
    public void upload(float[] src, int from, int n, long at) {
        checkRange(at, n);
        if (n == 0) {
            return;
        }
        if (emu != null) {
            for (int i = 0; i < n; i++) {
                emu.putFloat((int) (4 * (at + i)), src[from + i]);
            }
            return;
        }
        try (FloatPointer host = new FloatPointer(n)) {
            host.put(src, from, n);
            CudaStatus.runtime("cudaMemcpy(host to device)",
                    cudaMemcpy(bytesAt(Float.BYTES * at), host.position(0), (long) n * Float.BYTES, cudaMemcpyHostToDevice));
        }
    }

    /** Copies floats {@code [at, at + n)} of this buffer to {@code dst[to, to + n)}. */
    public void download(long at, float[] dst, int to, int n) {
        checkRange(at, n);
        if (n == 0) {
            return;
        }
        if (emu != null) {
            for (int i = 0; i < n; i++) {
                dst[to + i] = emu.getFloat((int) (4 * (at + i)));
            }
            return;
        }
        try (FloatPointer host = new FloatPointer(n)) {
            CudaStatus.runtime("cudaMemcpy(device to host)",
                    cudaMemcpy(host, bytesAt(Float.BYTES * at), (long) n * Float.BYTES, cudaMemcpyDeviceToHost));
            host.position(0).get(dst, to, n);
        }
    }

    public float[] toFloats() {
        float[] out = new float[(int) (bytes / Float.BYTES)];
        download(0, out, 0, out.length);
        return out;
    }

    public void zero() {
        ensureLive();
        if (emu != null) {
            for (int i = 0; i < bytes; i++) {
                emu.put(i, (byte) 0);
            }
            return;
        }
        CudaStatus.runtime("cudaMemset", cudaMemset(pointer, 0, bytes));
    }

    private void checkRange(long atFloat, int n) {
        ensureLive();
        if (atFloat < 0 || n < 0 || (atFloat + n) * Float.BYTES > bytes) {
            throw new IndexOutOfBoundsException("floats [" + atFloat + ", " + (atFloat + n) + ") outside a device buffer of "
                    + bytes + " bytes");
        }
    }

    private void ensureLive() {
        if (freed) {
            throw new IllegalStateException("device buffer already freed");
        }
    }

    @Override
    public void close() {
        if (!freed) {
            freed = true;
            if (emu == null) {
                CudaStatus.runtime("cudaFree", cudaFree(pointer));
            }
        }
    }
}
