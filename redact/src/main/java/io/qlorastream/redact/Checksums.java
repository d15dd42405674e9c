package io.qlorastream.redact;

/** The check-digit schemes that tell real card numbers and IBANs from look-alikes. */
final class Checksums {
    private Checksums() {
    }

    /** Luhn (ISO/IEC 7812) over the first {@code len} digits. */
    static boolean luhn(char[] digits, int len) {
        int sum = 0;
        boolean twice = false;
        for (int i = len - 1; i >= 0; i--) {
            int d = digits[i] - '0';
            if (twice) {
                d *= 2;
                if (d > 9) {
                    d -= 9;
                }
            }
            sum += d;
            twice = !twice;
        }
        return sum % 10 == 0;
    }

    /** The issuer prefix and length of a card network: Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay, Maestro. */
    static boolean isCardPrefix(char[] d, int len) {
        int p1 = d[0] - '0';
        int p2 = p1 * 10 + (d[1] - '0');
        int p3 = p2 * 10 + (d[2] - '0');
        int p4 = p3 * 10 + (d[3] - '0');
        if (p1 == 4) {
            return len == 13 || len == 16 || len == 19;
        }
        if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) {
            return len == 16;
        }
        if (p2 == 34 || p2 == 37) {
            return len == 15;
        }
        if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649) || p2 == 62) {
            return len >= 16 && len <= 19;
        }
        if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39) {
            return len >= 14 && len <= 19;
        }
        if (p4 >= 3528 && p4 <= 3589) {
            return len >= 16 && len <= 19;
        }
        if (p2 == 50 || (p2 >= 56 && p2 <= 69)) {
            return len >= 13 && len <= 19; // Maestro
        }
        return false;
    }

    /** ISO 13616: move the first four characters to the end, letters to 10..35, the number mod 97 is 1. */
    static boolean ibanValid(char[] c, int len) {
        if (len < 15 || len > 34) {
            return false;
        }
        int mod = 0;
        for (int k = 0; k < len; k++) {
            char ch = c[(k + 4) % len];
            if (ch >= '0' && ch <= '9') {
                mod = (mod * 10 + (ch - '0')) % 97;
            } else if (ch >= 'A' && ch <= 'Z') {
                mod = (mod * 100 + (ch - 'A' + 10)) % 97;
            } else {
                return false;
            }
        }
        return mod == 1;
    }
}
