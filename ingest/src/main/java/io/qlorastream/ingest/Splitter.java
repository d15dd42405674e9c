package io.qlorastream.ingest;

import io.qlorastream.events.Split;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * TRAIN or EVAL from the example id alone: the first 8 bytes of its SHA-256 as a number in [0, 1), below the
 * eval fraction → EVAL. The same id always lands in the same split, on any machine, in any run.
 */
public final class Splitter {
    private Splitter() {
    }

    public static Split split(String exampleId, double evalFraction) {
        return position(exampleId) < evalFraction ? Split.EVAL : Split.TRAIN;
    }

    /** Where the id falls in [0, 1). */
    static double position(String exampleId) {
        byte[] h;
        try {
            h = MessageDigest.getInstance("SHA-256").digest(exampleId.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from this JVM", e);
        }
        long bits = 0;
        for (int i = 0; i < 8; i++) {
            bits = (bits << 8) | (h[i] & 0xff);
        }
        return (bits >>> 11) * 0x1.0p-53; // top 53 bits: exact in a double
    }
}
