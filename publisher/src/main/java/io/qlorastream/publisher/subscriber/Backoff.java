package io.qlorastream.publisher.subscriber;

import java.time.Duration;

/**
 * How often and how patiently a switch is tried: {@code attempts} tries in all, waiting {@code initial} after the
 * first failure and twice as long after each next one, never more than {@code max}.
 */
public record Backoff(int attempts, Duration initial, Duration max) {
    public Backoff {
        if (attempts < 1) {
            throw new IllegalArgumentException("attempts must be at least 1, not " + attempts);
        }
        if (initial.isNegative() || max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("backoff " + initial + " must be non-negative and at most its maximum " + max);
        }
    }

    /** 6 tries, 1 s, 2 s, 4 s, 8 s, 16 s apart: about half a minute for a server to come back. */
    public static Backoff defaults() {
        return new Backoff(6, Duration.ofSeconds(1), Duration.ofSeconds(30));
    }

    /** The wait after failed try number {@code failedTry} (1-based). */
    public Duration delayAfter(int failedTry) {
        Duration d = initial;
        for (int i = 1; i < failedTry && d.compareTo(max) < 0; i++) {
            d = d.multipliedBy(2);
        }
        return d.compareTo(max) > 0 ? max : d;
    }
}
