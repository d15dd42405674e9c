package io.qlorastream.redact;

import static io.qlorastream.redact.Chars.*;

/**
 * Numbers that identify a person or an account, told from look-alikes by their shape and check digits: SSNs, card
 * numbers (network prefix and Luhn), IBANs (mod 97) and phone numbers (international, North American, national with
 * a trunk 0). Each is called at its trigger; one that returns an {@code int} returns where the scan continues (past
 * its match), or -1.
 */
final class NumberRecognizers {
    private NumberRecognizers() {
    }

    /** ddd-dd-dddd, without the never-issued areas 000, 666, 900-999, group 00 or serial 0000. */
    static int ssn(Scan t, int i) {
        String s = t.s;
        int n = t.n;
        int end = i + 11;
        if (end > n || s.charAt(i + 3) != '-' || s.charAt(i + 6) != '-') {
            return -1;
        }
        for (int k = i; k < end; k++) {
            if (k != i + 3 && k != i + 6 && !isDigit(s.charAt(k))) {
                return -1;
            }
        }
        if (isWordish(s, end) || (end + 1 < n && s.charAt(end) == '-' && isDigit(s.charAt(end + 1)))) {
            return -1;
        }
        String area = s.substring(i, i + 3);
        if (area.equals("000") || area.equals("666") || area.charAt(0) == '9'
                || s.startsWith("00", i + 4) || s.startsWith("0000", i + 7)) {
            return -1;
        }
        t.add(i, end, RedactionType.SSN, s.substring(i, end));
        return end;
    }

    /** 13-19 digits, single spaces or dashes between groups, a card network's prefix and a valid Luhn sum. */
    static int card(Scan t, int i) {
        String s = t.s;
        int n = t.n;
        int digitCount = 0;
        for (int k = i; k < n && k - i < 40; k++) {
            char c = s.charAt(k);
            if (isDigit(c)) {
                digitCount++;
            } else if (c != ' ' && c != '-') {
                break;
            }
        }
        if (digitCount < 13) {
            return -1;
        }
        int[] pos = new int[19];
        int count = 0;
        int k = i;
        while (k < n && count < 19) {
            char c = s.charAt(k);
            if (isDigit(c)) {
                pos[count++] = k++;
            } else if ((c == ' ' || c == '-') && k + 1 < n && isDigit(s.charAt(k + 1))) {
                k++;
            } else {
                break;
            }
        }
        if (count < 13 || (k < n && isDigit(s.charAt(k))) || isWordish(s, pos[count - 1] + 1)) {
            return -1;
        }
        char[] digits = new char[count];
        for (int j = 0; j < count; j++) {
            digits[j] = s.charAt(pos[j]);
        }
        for (int len = count; len >= 13; len--) {
            int end = pos[len - 1] + 1;
            if (len < count && isDigit(s.charAt(end))) {
                continue; // only whole groups
            }
            if (Checksums.isCardPrefix(digits, len) && Checksums.luhn(digits, len)) {
                t.add(i, end, RedactionType.CARD, new String(digits, 0, len));
                return end;
            }
        }
        return -1;
    }

    /** North American 555-123-4567, 555.123.4567, 555 123 4567, 1-555-123-4567 (one separator kind). */
    static int nanp(Scan t, int i) {
        String s = t.s;
        int n = t.n;
        int k = i;
        if (s.charAt(k) == '1' && k + 1 < n && " -.".indexOf(s.charAt(k + 1)) >= 0 && k + 2 < n && isDigit(s.charAt(k + 2))) {
            k += 2;
        }
        if (k + 12 > n || s.charAt(k) < '2') {
            return -1;
        }
        char sep = s.charAt(k + 3);
        if (" -.".indexOf(sep) < 0 || s.charAt(k + 7) != sep) {
            return -1;
        }
        for (int j = 0; j < 12; j++) {
            if (j != 3 && j != 7 && !isDigit(s.charAt(k + j))) {
                return -1;
            }
        }
        int end = k + 12;
        if (isWordish(s, end) || end + 1 < n && " -.".indexOf(s.charAt(end)) >= 0 && isDigit(s.charAt(end + 1))) {
            return -1;
        }
        t.add(i, end, RedactionType.PHONE, s.substring(i, end));
        return end;
    }

    /** (555) 123-4567; {@code i} is the '('. */
    static void nanpWithParentheses(Scan t, int i) {
        String s = t.s;
        int n = t.n;
        if (i + 14 > n || s.charAt(i + 4) != ')' || s.charAt(i + 1) < '2') {
            return;
        }
        int k = i + 5;
        if (s.charAt(k) == ' ') {
            k++;
        }
        if (k + 8 > n || " -.".indexOf(s.charAt(k + 3)) < 0) {
            return;
        }
        for (int j : new int[]{i + 1, i + 2, i + 3, k, k + 1, k + 2, k + 4, k + 5, k + 6, k + 7}) {
            if (!isDigit(s.charAt(j))) {
                return;
            }
        }
        int end = k + 8;
        if (isWordish(s, end)) {
            return;
        }
        t.add(i, end, RedactionType.PHONE, s.substring(i, end));
    }

    /** National numbers with a trunk 0: 020 7946 0958, 06 12 34 56 78, 030-1234567; 10 or 11 digits. */
    static int trunkPhone(Scan t, int i) {
        String s = t.s;
        int n = t.n;
        if (i + 1 >= n || !isDigit(s.charAt(i + 1)) || s.charAt(i + 1) == '0') {
            return -1;
        }
        int digits = 0;
        char sep = 0;
        int k = i;
        int end = i;
        while (k < n && k - i < 20) {
            char c = s.charAt(k);
            if (isDigit(c)) {
                digits++;
                end = ++k;
            } else if (" -./".indexOf(c) >= 0 && k + 1 < n && isDigit(s.charAt(k + 1)) && (sep == 0 || sep == c)) {
                sep = c;
                k++;
            } else {
                break;
            }
        }
        if (digits < 10 || digits > 11 || isWordish(s, end) || (end < n && isDigit(s.charAt(end)))) {
            return -1;
        }
        t.add(i, end, RedactionType.PHONE, s.substring(i, end));
        return end;
    }

    /** +44 20 7946 0958, +1-555-123-4567, +49 (0)30 1234567, +15551234567: 8 to 15 digits. */
    static int internationalPhone(Scan t, int i) {
        String s = t.s;
        int n = t.n;
        int k = i + 1;
        int digits = 0;
        int end = -1;
        int limit = Math.min(n, i + 32);
        boolean open = false;
        while (k < limit) {
            char c = s.charAt(k);
            if (isDigit(c)) {
                digits++;
                end = ++k;
            } else if (c == '(' && !open && k + 1 < n && isDigit(s.charAt(k + 1))) {
                open = true;
                k++;
            } else if (c == ')' && open && isDigit(s.charAt(k - 1))) {
                open = false;
                end = ++k;
            } else if (" -.".indexOf(c) >= 0 && k + 1 < n && (isDigit(s.charAt(k + 1)) || s.charAt(k + 1) == '(')) {
                k++;
            } else {
                break;
            }
        }
        if (digits < 8 || digits > 15 || isWordish(s, end)) {
            return -1;
        }
        t.add(i, end, RedactionType.PHONE, s.substring(i, end));
        return end;
    }

    /** DE89 3704 0044 0532 0130 00 or DE89370400440532013000: country, check digits, mod-97 valid. */
    static int iban(Scan t, int i) {
        String s = t.s;
        int n = t.n;
        if (i + 15 > n || !isUpper(s.charAt(i + 1)) || !isDigit(s.charAt(i + 2)) || !isDigit(s.charAt(i + 3))) {
            return -1;
        }
        int[] pos = new int[34];
        int count = 0;
        int k = i;
        boolean spaced = s.charAt(i + 4) == ' ';
        while (k < n && count < 34) {
            char c = s.charAt(k);
            if (isDigit(c) || isUpper(c)) {
                pos[count++] = k++;
            } else if (spaced && c == ' ' && count % 4 == 0 && k + 1 < n && isAlnum(s.charAt(k + 1))) {
                k++;
            } else {
                break;
            }
        }
        char[] chars = new char[count];
        for (int j = 0; j < count; j++) {
            chars[j] = s.charAt(pos[j]);
        }
        for (int len = count; len >= 15; len--) {
            int end = pos[len - 1] + 1;
            if (isWordish(s, end)) {
                continue; // only whole groups (or the whole compact word)
            }
            if (Checksums.ibanValid(chars, len)) {
                t.add(i, end, RedactionType.IBAN, new String(chars, 0, len));
                return end;
            }
        }
        // An IBAN-shaped string failing mod-97 is skipped whole, so its digit groups are not read as a phone.
        return count >= 15 ? pos[count - 1] + 1 : -1;
    }
}
