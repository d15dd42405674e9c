package io.qlorastream.ingest;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.text.Normalizer;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Locale;

/**
 * The dedupe key: a SHA-256 of the event's content after normalization (Unicode NFKC, lower case, runs of white
 * space as one space, trimmed), so a ticket re-sent under another id, with other timestamps or re-wrapped lines, is
 * the same content. Ids, timestamps, status and scores are not content.
 */
public final class ContentHash {
    // cloned for each event: cheaper than getInstance's provider lookup, and than a ThreadLocal, whose lookup on the
    // stream thread (which holds many) had cost more than the digest itself
    private static final MessageDigest SHA_256;

    static {
        try {
            SHA_256 = MessageDigest.getInstance("SHA-256");
            SHA_256.clone();
        } catch (NoSuchAlgorithmException | CloneNotSupportedException e) {
            throw new IllegalStateException("SHA-256 missing from this JVM, or it cannot be cloned", e);
        }
    }

    // the normalized fields of one event, each as its UTF-8 length (4 bytes, big-endian, so ("ab","c") and ("a","bc")
    // differ) and bytes, gathered in one buffer for a single digest
    private byte[] buffer = new byte[2048];
    private int length;

    /** The hash of one event, over its source's name first ({@link SourceEvent#contentHash} adds the rest). */
    ContentHash(String source) {
        add(source);
    }

    /** Adds the next field. */
    ContentHash add(String s) {
        reserve(4 + s.length());
        int n = normalizeAscii(s, buffer, length + 4);
        if (n < 0) {
            byte[] general = normalize(s).getBytes(StandardCharsets.UTF_8);
            n = general.length;
            reserve(4 + n);
            System.arraycopy(general, 0, buffer, length + 4, n);
        }
        buffer[length] = (byte) (n >>> 24);
        buffer[length + 1] = (byte) (n >>> 16);
        buffer[length + 2] = (byte) (n >>> 8);
        buffer[length + 3] = (byte) n;
        length += 4 + n;
        return this;
    }

    /** The SHA-256 of the fields added, in hex. */
    String sha256() {
        try {
            MessageDigest d = (MessageDigest) SHA_256.clone();
            d.update(buffer, 0, length);
            return HexFormat.of().formatHex(d.digest());
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException(e); // cloned once at class initialization already
        }
    }

    private void reserve(int more) {
        if (length + more > buffer.length) {
            buffer = Arrays.copyOf(buffer, Math.max(2 * buffer.length, length + more));
        }
    }

    static String normalize(String s) {
        String n = Normalizer.normalize(s, Normalizer.Form.NFKC).toLowerCase(Locale.ROOT);
        StringBuilder b = new StringBuilder(n.length());
        boolean space = false;
        for (int i = 0; i < n.length(); i++) {
            char c = n.charAt(i);
            if (Character.isWhitespace(c) || Character.isSpaceChar(c)) {
                space = b.length() > 0;
            } else {
                if (space) {
                    b.append(' ');
                    space = false;
                }
                b.append(c);
            }
        }
        return b.toString();
    }

    /**
     * {@link #normalize} of an all-ASCII {@code s}, written as UTF-8 into {@code out} from {@code at} (room for
     * {@code s.length()} bytes) in one pass; returns the length written, or -1 at the first non-ASCII char (then
     * nothing is promised of {@code out}). It gives the same bytes because NFKC leaves ASCII as it is, lower-casing
     * ASCII in the root locale maps A-Z only, and ASCII's white space is what {@link Character#isWhitespace} and
     * {@link Character#isSpaceChar} say of it: tab to carriage return, the four separators 0x1C-0x1F, and space.
     * Most text here is ASCII, and the general path (normalize, lower-case, then collapse, each a new string) was
     * about a sixth of the ingest stream thread's time.
     */
    static int normalizeAscii(String s, byte[] out, int at) {
        int n = at;
        boolean space = false;
        for (int i = 0, len = s.length(); i < len; i++) {
            char c = s.charAt(i);
            if (c >= 0x80) {
                return -1;
            }
            if (c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1C && c <= 0x1F)) {
                space = n > at;
            } else {
                if (space) {
                    out[n++] = ' ';
                    space = false;
                }
                out[n++] = (byte) (c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
            }
        }
        return n - at;
    }
}
