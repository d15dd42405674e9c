package io.qlorastream.ingest;

import io.qlorastream.events.CodeReview;
import io.qlorastream.events.ReviewComment;
import io.qlorastream.events.SupportTicket;
import io.qlorastream.events.TicketMessage;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.text.Normalizer;
import java.util.HexFormat;
import java.util.Locale;

/**
 * The dedupe key: a SHA-256 of the event's content after normalization (Unicode NFKC, lower case, runs of white
 * space as one space, trimmed), so a ticket re-sent under another id, with other timestamps or re-wrapped lines, is
 * the same content. Ids, timestamps, status and scores are not content.
 */
public final class ContentHash {
    private ContentHash() {
    }

    public static String of(SupportTicket t) {
        MessageDigest d = sha256();
        field(d, "ticket");
        field(d, t.getProduct());
        field(d, t.getSubject());
        for (TicketMessage m : t.getMessages()) {
            field(d, m.getAuthorRole().name());
            field(d, m.getBody());
        }
        return HexFormat.of().formatHex(d.digest());
    }

    public static String of(CodeReview r) {
        MessageDigest d = sha256();
        field(d, "review");
        field(d, r.getRepository());
        field(d, r.getFilePath());
        field(d, r.getDiffHunk());
        for (ReviewComment c : r.getComments()) {
            field(d, c.getBody());
        }
        return HexFormat.of().formatHex(d.digest());
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

    private static void field(MessageDigest d, String s) {
        byte[] bytes = normalize(s).getBytes(StandardCharsets.UTF_8);
        // length-prefixed, so ("ab","c") and ("a","bc") differ
        d.update(new byte[]{(byte) (bytes.length >>> 24), (byte) (bytes.length >>> 16), (byte) (bytes.length >>> 8), (byte) bytes.length});
        d.update(bytes);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from this JVM", e);
        }
    }
}
