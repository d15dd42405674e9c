package io.qlorastream.redact;

import java.util.List;
import java.util.Set;

import static io.qlorastream.redact.Chars.*;

/**
 * One pass over one text: at each cheap trigger (a character, or a prefix at a word start) it calls the recognizer
 * families that can match there ({@link NetworkRecognizers}, {@link NumberRecognizers}, {@link SecretRecognizers})
 * and collects their candidate matches of the enabled types. The rest of a word is skipped once its start is seen.
 */
final class Scan {
    /** The most characters a token-like recognizer reads past its trigger: the cost stays linear in the text. */
    static final int MAX_TOKEN = 8192;

    final String s;
    final int n;
    private final List<Match> out;
    private final Set<RedactionType> enabled;

    Scan(String s, Set<RedactionType> enabled, List<Match> out) {
        this.s = s;
        this.n = s.length();
        this.enabled = enabled;
        this.out = out;
    }

    void add(int start, int end, RedactionType type, String key) {
        if (enabled.contains(type)) {
            out.add(new Match(start, end, type, key));
        }
    }

    void run() {
        int i = 0;
        while (i < n) {
            char c = s.charAt(i);
            if (c < 128 && WORD[c]) {
                // only word starts reach here: the rest of each word is skipped below
                int end = wordEnd(i);
                if (!isDigit(c)) {
                    CredentialRecognizers.word(this, i, end);
                }
                i = Math.max(wordStart(i), end);
                continue;
            }
            int next = -1;
            switch (c) {
                case '@' -> {
                    if (!CredentialRecognizers.userPassword(this, i)) {
                        NetworkRecognizers.email(this, i);
                    }
                }
                case ':' -> {
                    if (i + 2 < n && s.charAt(i + 1) == '/' && s.charAt(i + 2) == '/') {
                        next = NetworkRecognizers.url(this, i);
                    } else if (i + 1 < n && s.charAt(i + 1) == ':') {
                        next = NetworkRecognizers.ipv6(this, i);
                    }
                    if (next < 0) {
                        SecretRecognizers.assignment(this, i);
                    }
                }
                case '=' -> SecretRecognizers.assignment(this, i);
                case '-' -> {
                    if (s.startsWith("-----BEGIN ", i)) {
                        next = SecretRecognizers.pem(this, i);
                    } else {
                        CredentialRecognizers.flag(this, i);
                    }
                }
                case '+' -> {
                    if (i + 1 < n && isDigit(s.charAt(i + 1)) && !isWordish(s, i - 1)) {
                        next = NumberRecognizers.internationalPhone(this, i);
                    }
                }
                case '(' -> {
                    if (i + 1 < n && isDigit(s.charAt(i + 1))) {
                        NumberRecognizers.nanpWithParentheses(this, i);
                    }
                }
                default -> {
                }
            }
            i = next > i ? next : i + 1;
        }
    }

    private int wordEnd(int i) {
        while (i < n && isWord(s.charAt(i))) {
            i++;
        }
        return i;
    }

    /** Everything that starts at a word start; returns where the scan continues (past a found token). */
    private int wordStart(int i) {
        char c = s.charAt(i);
        if (isDigit(c)) {
            return numbers(i);
        }
        int end = -1;
        switch (c) {
            case 'A' -> end = Math.max(SecretRecognizers.awsAccessKey(this, i), SecretRecognizers.googleApiKey(this, i));
            case 'g' -> end = SecretRecognizers.githubToken(this, i);
            case 'x' -> end = SecretRecognizers.slackToken(this, i);
            case 's', 'r' -> end = SecretRecognizers.stripeKey(this, i);
            case 'e' -> end = SecretRecognizers.jwt(this, i);
            case 'B', 'b' -> end = SecretRecognizers.bearer(this, i);
            default -> {
            }
        }
        if (end < 0 && isUpper(c)) {
            end = NumberRecognizers.iban(this, i);
        }
        if (end < 0 && isHex(c)) {
            int hexEnd = i + 1;
            while (hexEnd < n && hexEnd - i < 5 && isHex(s.charAt(hexEnd))) {
                hexEnd++;
            }
            if (hexEnd < n && s.charAt(hexEnd) == ':') {
                end = NetworkRecognizers.ipv6(this, i); // fe80::1, only when a hex run meets a colon
            }
        }
        return end;
    }

    /** Everything that starts with a digit at a word start. */
    private int numbers(int i) {
        int wordEnd = wordEnd(i);
        if (i >= 2 && (s.charAt(i - 1) == '-' || s.charAt(i - 1) == '.') && isAlnum(s.charAt(i - 2))) {
            return wordEnd; // a later part of a dashed or dotted token: UUID, date, version
        }
        int hexEnd = i;
        while (hexEnd < n && hexEnd - i < 5 && isHex(s.charAt(hexEnd))) {
            hexEnd++;
        }
        if (hexEnd < n && s.charAt(hexEnd) == ':') {
            int v6 = NetworkRecognizers.ipv6(this, i);
            if (v6 > 0) {
                return v6;
            }
        }
        int d = i;
        while (d < n && isDigit(s.charAt(d))) {
            d++;
        }
        if (d < wordEnd) {
            return wordEnd; // digits glued to letters: 3rd, 10am, a SHA, a hex id
        }
        int end = -1;
        if (d < n && s.charAt(d) == '.') {
            end = Math.max(end, NetworkRecognizers.ipv4(this, i));
        }
        if (d - i == 3 && d < n && s.charAt(d) == '-') {
            end = Math.max(end, NumberRecognizers.ssn(this, i));
        }
        if (s.charAt(i) >= '2' && s.charAt(i) <= '6') {
            end = Math.max(end, NumberRecognizers.card(this, i));
        }
        if (s.charAt(i) == '0') {
            end = Math.max(end, NumberRecognizers.trunkPhone(this, i));
        } else {
            end = Math.max(end, NumberRecognizers.nanp(this, i));
        }
        return Math.max(end, wordEnd);
    }
}
