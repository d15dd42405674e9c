package io.qlorastream.redact;

import java.util.Locale;

import static io.qlorastream.redact.Chars.*;

/**
 * Where something on the network is named: email addresses, URLs carrying credentials (and Slack webhooks, whose
 * URL is the credential), IPv4 and IPv6 addresses. Each reads the {@link Scan}'s text from the trigger it is called
 * at; one that returns an {@code int} returns where the scan continues (past its match), or -1.
 */
final class NetworkRecognizers {
    private NetworkRecognizers() {
    }

    /** local@domain.tld around the '@' at {@code at}; not a user at a host inside a URL. */
    static void email(Scan t, int at) {
        String s = t.s;
        int n = t.n;
        int start = at;
        int limit = Math.max(0, at - 64);
        while (start > limit && s.charAt(start - 1) < 128 && EMAIL_LOCAL[s.charAt(start - 1)]) {
            start--;
        }
        if (start == limit && start > 0 && s.charAt(start - 1) < 128 && EMAIL_LOCAL[s.charAt(start - 1)]) {
            return; // a local part longer than 64: not an address
        }
        while (start < at && !isAlnum(s.charAt(start))) {
            start++;
        }
        if (start == at || start >= 3 && s.startsWith("://", start - 3)) {
            return; // ssh://git@github.com: a user at a host inside a URL, not a mailbox
        }
        int d = at + 1;
        int dLimit = Math.min(n, at + 1 + 253);
        while (d < dLimit && (isAlnum(s.charAt(d)) || s.charAt(d) == '.' || s.charAt(d) == '-')) {
            d++;
        }
        while (d > at + 1 && !isAlnum(s.charAt(d - 1))) {
            d--;
        }
        if (d == at + 1 || !isAlnum(s.charAt(at + 1))) {
            return;
        }
        for (int k = at + 1; k < d - 1; k++) {
            if (s.charAt(k) == '.' && s.charAt(k + 1) == '.') {
                return;
            }
        }
        int dot = d - 1;
        while (dot > at && s.charAt(dot) != '.') {
            dot--;
        }
        if (dot <= at + 1) {
            return;
        }
        int tld = d - dot - 1;
        if (tld < 2 || tld > 24) {
            return;
        }
        for (int k = dot + 1; k < d; k++) {
            char c = s.charAt(k);
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
                return;
            }
        }
        if (isWordish(s, d)) {
            return;
        }
        t.add(start, d, RedactionType.EMAIL, s.substring(start, d).toLowerCase(Locale.ROOT));
    }

    /** {@code scheme://user:password@host...} and Slack webhooks; {@code colon} is the ':' of "://". */
    static int url(Scan t, int colon) {
        String s = t.s;
        int n = t.n;
        int start = colon;
        while (start > 0 && colon - start < 32 && isSchemeChar(s.charAt(start - 1))) {
            start--;
        }
        while (start < colon && !Character.isLetter(s.charAt(start))) {
            start++;
        }
        if (start == colon) {
            return -1;
        }
        int authority = colon + 3;
        if (s.startsWith("hooks.slack.com/services/", authority) || s.startsWith("hooks.slack.com/workflows/", authority)) {
            int end = urlEnd(s, authority);
            t.add(start, end, RedactionType.SLACK_WEBHOOK, s.substring(start, end));
            return end;
        }
        int at = -1;
        int k = authority;
        int limit = Math.min(n, authority + 2048);
        while (k < limit) {
            char c = s.charAt(k);
            if (c == '/' || c == '?' || c == '#' || Character.isWhitespace(c) || isQuote(c) || c == '<' || c == '>') {
                break;
            }
            if (c == '@') {
                at = k;
            }
            k++;
        }
        if (at <= authority || at + 1 >= n || !isAlnum(s.charAt(at + 1))) {
            return -1;
        }
        int sep = authority;
        while (sep < at && s.charAt(sep) != ':') {
            sep++;
        }
        boolean password = sep > authority && sep < at - 1;
        boolean tokenAsUser = !password && at - authority >= 20;
        if (!password && !tokenAsUser) {
            return -1; // ssh://git@host: a user name, no credential
        }
        int end = urlEnd(s, at + 1);
        t.add(start, end, RedactionType.URL_CREDENTIALS, s.substring(start, end));
        return end;
    }

    private static int urlEnd(String s, int k) {
        int n = s.length();
        int limit = Math.min(n, k + Scan.MAX_TOKEN);
        while (k < limit) {
            char c = s.charAt(k);
            if (Character.isWhitespace(c) || isQuote(c) || c == '<' || c == '>') {
                break;
            }
            k++;
        }
        while (".,;:!?)]}".indexOf(s.charAt(k - 1)) >= 0) {
            k--; // sentence punctuation after a URL
        }
        return k;
    }

    private static boolean isSchemeChar(char c) {
        return isAlnum(c) || c == '+' || c == '.' || c == '-';
    }

    /** Four octets of at most 255, not part of a longer dotted run; the unspecified and loopback addresses stay. */
    static int ipv4(Scan t, int i) {
        String s = t.s;
        int n = t.n;
        int k = i;
        for (int octet = 0; octet < 4; octet++) {
            if (octet > 0) {
                if (k >= n || s.charAt(k) != '.') {
                    return -1;
                }
                k++;
            }
            int start = k;
            int value = 0;
            while (k < n && k - start < 3 && isDigit(s.charAt(k))) {
                value = value * 10 + (s.charAt(k) - '0');
                k++;
            }
            if (k == start || value > 255 || (k < n && isDigit(s.charAt(k)))) {
                return -1;
            }
        }
        if (isWordish(s, k) || (k + 1 < n && s.charAt(k) == '.' && isDigit(s.charAt(k + 1)))) {
            return -1; // 1.2.3.4.5 or 1.2.3.4a: not an address
        }
        if (s.startsWith("0.0.0.0", i) && k - i == 7 || s.startsWith("127.", i)) {
            return k; // the unspecified and loopback addresses name no one
        }
        t.add(i, k, RedactionType.IP_ADDRESS, s.substring(i, k));
        return k;
    }

    /** IPv6 with "::" compression and an optional dotted IPv4 tail; from a hex digit or a leading "::". */
    static int ipv6(Scan t, int a) {
        String s = t.s;
        int n = t.n;
        int limit = Math.min(n, a + 46);
        int b = a;
        while (b < limit && (isHex(s.charAt(b)) || s.charAt(b) == ':' || s.charAt(b) == '.')) {
            b++;
        }
        while (b > a && s.charAt(b - 1) == '.') {
            b--;
        }
        if (b > a + 1 && s.charAt(b - 1) == ':' && s.charAt(b - 2) != ':') {
            b--; // "fe80::1: unreachable"
        }
        if (b == limit && limit < n || isWordish(s, b) || isWordish(s, a - 1) || !validIpv6(s, a, b)) {
            return -1;
        }
        if (b - a == 3 && s.startsWith("::1", a)) {
            return b; // loopback
        }
        t.add(a, b, RedactionType.IP_ADDRESS, s.substring(a, b).toLowerCase(Locale.ROOT));
        return b;
    }

    private static boolean validIpv6(String s, int a, int b) {
        int groups = 0;
        boolean compressed = false;
        boolean digit = false;
        int k = a;
        if (s.startsWith("::", a)) {
            compressed = true;
            k = a + 2;
        }
        while (k < b) {
            int g = k;
            while (g < b && isHex(s.charAt(g))) {
                digit |= isDigit(s.charAt(g));
                g++;
            }
            if (g == k || g - k > 4 && (g == b || s.charAt(g) != '.')) {
                return false;
            }
            if (g < b && s.charAt(g) == '.') {
                int tail = ipv4Length(s, k, b);
                if (tail != b - k || groups > 6) {
                    return false;
                }
                groups += 2;
                digit = true;
                break;
            }
            groups++;
            k = g;
            if (k == b) {
                break;
            }
            if (s.charAt(k) != ':') {
                return false;
            }
            if (k + 1 < b && s.charAt(k + 1) == ':') {
                if (compressed) {
                    return false;
                }
                compressed = true;
                k += 2;
            } else {
                k++;
                if (k == b) {
                    return false;
                }
            }
        }
        if (groups == 0 || !digit) {
            return false; // "::" alone, or letters only ("abc::def" is code)
        }
        return compressed ? groups <= 7 : groups == 8;
    }

    private static int ipv4Length(String s, int k, int b) {
        int start = k;
        for (int octet = 0; octet < 4; octet++) {
            if (octet > 0) {
                if (k >= b || s.charAt(k) != '.') {
                    return -1;
                }
                k++;
            }
            int st = k;
            int value = 0;
            while (k < b && k - st < 3 && isDigit(s.charAt(k))) {
                value = value * 10 + (s.charAt(k) - '0');
                k++;
            }
            if (k == st || value > 255) {
                return -1;
            }
        }
        return k - start;
    }

}
