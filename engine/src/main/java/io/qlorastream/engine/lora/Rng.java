package io.qlorastream.engine.lora;

/**
 * A seeded xoshiro256** generator whose whole state is four longs that can be saved and restored, so a resumed
 * run draws exactly the numbers an uninterrupted one would. Written by hand because no JDK generator exposes its
 * state ({@code java.util.Random} and the Java 17 {@code RandomGenerator}s keep it private).
 */
public final class Rng {
    private long s0, s1, s2, s3;

    /** Seeds the four state words with SplitMix64 of {@code seed}, as the xoshiro authors recommend. */
    public Rng(long seed) {
        long x = seed;
        s0 = mix64(x += 0x9E3779B97F4A7C15L);
        s1 = mix64(x += 0x9E3779B97F4A7C15L);
        s2 = mix64(x += 0x9E3779B97F4A7C15L);
        s3 = mix64(x + 0x9E3779B97F4A7C15L);
    }

    private Rng(long[] state) {
        restore(state);
    }

    public static Rng fromState(long[] state) {
        return new Rng(state);
    }

    public long nextLong() {
        long result = Long.rotateLeft(s1 * 5, 7) * 9;
        long t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = Long.rotateLeft(s3, 45);
        return result;
    }

    /** Uniform in [0, 1) with 24 random bits (every float of that grid equally likely). */
    public float nextFloat() {
        return (nextLong() >>> 40) * 0x1p-24f;
    }

    /** Uniform in [0, 1) with 53 random bits. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1p-53;
    }

    /** Uniform in [0, bound), bound > 0, without modulo bias (Lemire's method with rejection). */
    public int nextInt(int bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive, got " + bound);
        }
        while (true) {
            long r = nextLong() >>> 33; // 31 bits
            long m = r * bound;
            long low = m & 0x7FFFFFFFL;
            if (low >= 0x80000000L % bound) { // reject the few low values that would bias the result
                return (int) (m >>> 31);
            }
        }
    }

    public long[] state() {
        return new long[]{s0, s1, s2, s3};
    }

    public void restore(long[] state) {
        if (state.length != 4 || (state[0] | state[1] | state[2] | state[3]) == 0) {
            throw new IllegalArgumentException("an Rng state is four longs, not all zero");
        }
        s0 = state[0];
        s1 = state[1];
        s2 = state[2];
        s3 = state[3];
    }

    /** SplitMix64's finaliser: a bijective 64-bit mix, also used as a counter-based hash. */
    public static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
