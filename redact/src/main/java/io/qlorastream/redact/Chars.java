package io.qlorastream.redact;

/** ASCII character classes by table, shared by every recognizer: no allocation, no regular expression. */
final class Chars {
    private Chars() {
    }

    static final boolean[] WORD = new boolean[128];
    static final boolean[] HEX = new boolean[128];
    static final boolean[] EMAIL_LOCAL = new boolean[128];
    static final boolean[] BASE64URL = new boolean[128];
    static final boolean[] TOKEN68 = new boolean[128];

    static {
        for (char c = 0; c < 128; c++) {
            boolean alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            WORD[c] = alnum || c == '_';
            HEX[c] = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
            EMAIL_LOCAL[c] = alnum || "._%+-".indexOf(c) >= 0;
            BASE64URL[c] = alnum || c == '_' || c == '-';
            TOKEN68[c] = alnum || "-._~+/".indexOf(c) >= 0;
        }
    }

    static boolean isWord(char c) {
        return c < 128 && WORD[c];
    }

    static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    static boolean isUpper(char c) {
        return c >= 'A' && c <= 'Z';
    }

    static boolean isAlnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }

    static boolean isHex(char c) {
        return c < 128 && HEX[c];
    }

    /** True when the char at {@code i} exists and belongs to a word (ASCII word chars and any Unicode letter/digit). */
    static boolean isWordish(String s, int i) {
        if (i < 0 || i >= s.length()) {
            return false;
        }
        char c = s.charAt(i);
        return c < 128 ? WORD[c] : Character.isLetterOrDigit(c);
    }

    static boolean isQuote(char c) {
        return c == '"' || c == '\'' || c == '`';
    }
}
