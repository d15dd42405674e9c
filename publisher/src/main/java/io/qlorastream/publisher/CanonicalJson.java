package io.qlorastream.publisher;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;

/**
 * The one JSON serialization whose bytes are signed, so a verifier in any language can rebuild them: RFC 8785
 * (JCS) rules with one exception for non-integer numbers. Objects: members sorted by key in UTF-16 code unit order
 * (Java's {@link String#compareTo}), no whitespace anywhere. Strings: UTF-8; {@code "} and {@code \} escaped with a
 * backslash; U+0008/0009/000A/000C/000D as backslash escapes b, t, n, f, r; other code points below U+0020 as a
 * backslash, 'u' and four lowercase hex digits; everything else literally. Integers (int, long): plain decimal.
 * Doubles: the exact decimal value of the IEEE-754 number, {@code new BigDecimal(d).toPlainString()} (16.0 is {@code 16}, 0.05 is
 * {@code 0.05000000000000000277555756156289135105907917022705078125}) - exact and portable, unlike the shortest
 * round-trip formats that differ between runtimes; NaN and infinities are refused. Booleans and null as JSON.
 */
public final class CanonicalJson {
    private CanonicalJson() {
    }

    /** The canonical UTF-8 bytes of a value made of maps (String keys), collections, strings, numbers, booleans, null. */
    public static byte[] bytes(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value);
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    public static String string(Object value) {
        return new String(bytes(value), StandardCharsets.UTF_8);
    }

    private static void write(StringBuilder sb, Object v) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof CharSequence s) {
            writeString(sb, s.toString());
        } else if (v instanceof Boolean b) {
            sb.append(b);
        } else if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            sb.append(((Number) v).longValue());
        } else if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                throw new IllegalArgumentException("not a finite number: " + d);
            }
            sb.append(d == 0.0 ? "0" : new BigDecimal(d).toPlainString());
        } else if (v instanceof Map<?, ?> m) {
            TreeMap<String, Object> sorted = new TreeMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!(e.getKey() instanceof CharSequence k)) {
                    throw new IllegalArgumentException("object key is not a string: " + e.getKey());
                }
                sorted.put(k.toString(), e.getValue());
            }
            sb.append('{');
            boolean first = true;
            for (Map.Entry<String, Object> e : sorted.entrySet()) {
                if (!first) {
                    sb.append(',');
                }
                first = false;
                writeString(sb, e.getKey());
                sb.append(':');
                write(sb, e.getValue());
            }
            sb.append('}');
        } else if (v instanceof Collection<?> c) {
            sb.append('[');
            boolean first = true;
            for (Object o : c) {
                if (!first) {
                    sb.append(',');
                }
                first = false;
                write(sb, o);
            }
            sb.append(']');
        } else {
            throw new IllegalArgumentException("no canonical JSON form for " + v.getClass().getName());
        }
    }

    private static void writeString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\b' -> sb.append("\\b");
                case '\t' -> sb.append("\\t");
                case '\n' -> sb.append("\\n");
                case '\f' -> sb.append("\\f");
                case '\r' -> sb.append("\\r");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
