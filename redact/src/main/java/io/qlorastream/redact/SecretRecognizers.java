package io.qlorastream.redact;

import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

import static io.qlorastream.redact.Chars.*;

/**
 * Credentials: PEM private keys, secrets assigned to a key that names one ({@code password=...},
 * {@code "api_key": "..."}), and tokens of known shapes (AWS, GitHub, Slack, Stripe, Google, JWTs, bearer tokens).
 * Each is called at its trigger; one that returns an {@code int} returns where the scan continues (past its match),
 * or -1.
 */
final class SecretRecognizers {
    private SecretRecognizers() {
    }

    /** A PEM block whose header names a private key, to its END line (or the end of a truncated text). */
    static int pem(Scan t, int i) {
        String s = t.s;
        int n = t.n;
        int lineEnd = i;
        int limit = Math.min(n, i + 100);
        while (lineEnd < limit && s.charAt(lineEnd) != '\n') {
            lineEnd++;
        }
        String header = s.substring(i, lineEnd);
        int close = header.indexOf("-----", 11);
        if (close < 0 || !header.substring(0, close).endsWith("PRIVATE KEY") && !header.substring(0, close).endsWith("PRIVATE KEY BLOCK")) {
            return -1;
        }
        int end;
        int endLine = s.indexOf("-----END ", i + close);
        if (endLine < 0) {
            end = n; // a truncated key is still a key
        } else {
            int endClose = s.indexOf("-----", endLine + 9);
            end = endClose < 0 || endClose - endLine > 100 ? n : endClose + 5;
        }
        t.add(i, end, RedactionType.PRIVATE_KEY, s.substring(i, end));
        return end;
    }

    /**
     * {@code password=...}, {@code "api_key": "..."}, {@code token: ...}, {@code Password=...;} in a connection
     * string; {@code op} is the '=' or ':'. The key's words say the type ({@link CredentialRecognizers#keyType});
     * a key that only mentions "key" or "auth" needs a random-looking value.
     */
    static void assignment(Scan t, int op) {
        String s = t.s;
        int n = t.n;
        char o = s.charAt(op);
        if (o == '=') {
            if (op + 1 < n && s.charAt(op + 1) == '=' || op > 0 && "=!<>+-*/%&|^".indexOf(s.charAt(op - 1)) >= 0) {
                return; // a comparison or a compound operator, not an assignment
            }
        } else if (op > 0 && s.charAt(op - 1) == ':') {
            return;
        }
        int k = op;
        while (k > 0 && op - k < 3 && (s.charAt(k - 1) == ' ' || s.charAt(k - 1) == '\t')) {
            k--;
        }
        boolean spaced = k < op;
        if (k > 0 && isQuote(s.charAt(k - 1))) {
            k--;
        }
        int keyEnd = k;
        while (k > 0 && keyEnd - k < 64 && isKeyChar(s.charAt(k - 1))) {
            k--;
        }
        if (k == keyEnd) {
            return;
        }
        boolean[] generic = new boolean[1];
        RedactionType type = CredentialRecognizers.keyType(s, k, keyEnd, generic);
        if (type == null) {
            return;
        }
        String key = s.substring(k, keyEnd).toLowerCase(Locale.ROOT);
        int v = op + 1;
        while (v < n && v - op < 8 && (s.charAt(v) == ' ' || s.charAt(v) == '\t')) {
            v++;
        }
        spaced |= v > op + 1;
        if (v >= n) {
            return;
        }
        int vs;
        int ve;
        boolean quoted = isQuote(s.charAt(v));
        if (quoted) {
            vs = v + 1;
            ve = CredentialRecognizers.quotedEnd(s, vs, s.charAt(v));
            if (ve < 0) {
                return;
            }
        } else {
            vs = v;
            ve = valueEnd(s, vs);
            String word = s.substring(vs, ve);
            if ((word.equalsIgnoreCase("basic") || word.equalsIgnoreCase("token") || word.equalsIgnoreCase("bearer"))
                    && ve < n && s.charAt(ve) == ' ') {
                if (word.equalsIgnoreCase("bearer")) {
                    return; // the bearer recognizer takes it
                }
                vs = ve + 1; // "Authorization: Basic dXNlcjpwYXNz": the credential follows the scheme
                ve = valueEnd(s, vs);
            }
            while (ve > vs && ".:".indexOf(s.charAt(ve - 1)) >= 0) {
                ve--; // sentence punctuation
            }
            if (ve < n && s.charAt(ve) == '(') {
                return; // password = readPassword(): code
            }
            if (ve > vs && isPlaceholderOrCode(s, s.substring(vs, ve), key, false, ve, spaced)) {
                return;
            }
            int token = vs;
            while (token < n && token - vs < 512 && !Character.isWhitespace(s.charAt(token))) {
                token++;
            }
            if (ve < token && (token == n || s.charAt(token) == '\n' || s.charAt(token) == '\r') && startsLine(s, k)
                    && s.charAt(token - 1) != ';' && s.charAt(token - 1) != ')') {
                ve = token; // a config line (.env, YAML, INI): the value is the rest of the line, whatever it holds
            }
        }
        String value = s.substring(vs, ve);
        if (value.length() < 4 && !(type == RedactionType.PIN && value.length() >= 3)
                || isPlaceholderOrCode(s, value, key, quoted, ve, spaced)) {
            return;
        }
        if (generic[0] && !CredentialRecognizers.looksRandom(value)
                || type == RedactionType.SESSION_COOKIE && value.length() < 12) {
            return;
        }
        if (key.contains("aws") && value.length() == 40 && isBase64(value)) {
            type = RedactionType.AWS_SECRET_KEY;
        }
        t.add(vs, ve, type, value);
    }

    /** Only indentation, {@code export}, {@code set} or a YAML list dash before {@code k} on its line. */
    private static boolean startsLine(String s, int k) {
        int p = k;
        while (p > 0 && (s.charAt(p - 1) == ' ' || s.charAt(p - 1) == '\t')) {
            p--;
        }
        for (String lead : new String[]{"export", "set", "-"}) {
            if (p >= lead.length() && s.startsWith(lead, p - lead.length()) && p < k) {
                p -= lead.length();
                while (p > 0 && (s.charAt(p - 1) == ' ' || s.charAt(p - 1) == '\t')) {
                    p--;
                }
                break;
            }
        }
        return p == 0 || s.charAt(p - 1) == '\n';
    }

    private static int valueEnd(String s, int vs) {
        int n = s.length();
        int ve = vs;
        int limit = Math.min(n, vs + 512);
        while (ve < limit) {
            char c = s.charAt(ve);
            if (Character.isWhitespace(c) || ",;\"'`()[]{}<>&".indexOf(c) >= 0) {
                break;
            }
            ve++;
        }
        return ve;
    }

    private static boolean isPlaceholderOrCode(String s, String value, String key, boolean quoted, int ve, boolean spaced) {
        int n = s.length();
        char first = value.charAt(0);
        if ("<%{*".indexOf(first) >= 0 || value.chars().allMatch(ch -> ch == first)) {
            return true; // <REDACTED>, %(pw)s, {{ secret }}, ****, xxxx
        }
        if (first == '$' && value.length() > 1 && (value.charAt(1) == '{' || value.charAt(1) == '(' || isWord(value.charAt(1)))) {
            return true; // ${TOKEN}, $(cat file), $DB_PASS
        }
        String lower = value.toLowerCase(Locale.ROOT);
        if (NOT_SECRETS.contains(lower)) {
            return true;
        }
        if (quoted) {
            return false; // a literal in code or config: the secret itself
        }
        if (IDENTIFIER_CHAIN.matcher(value).matches()) {
            return true; // password = self.password, token = cfg.token: code
        }
        boolean identifier = IDENTIFIER.matcher(value).matches();
        String keyTail = key.substring(Math.max(key.lastIndexOf('.'), Math.max(key.lastIndexOf('_'), key.lastIndexOf('-'))) + 1);
        return identifier && (lower.equals(key) || lower.equals(keyTail) || spaced && ve < n && s.charAt(ve) == ';');
    }

    private static boolean isKeyChar(char c) {
        return isAlnum(c) || c == '_' || c == '-' || c == '.';
    }

    private static final String[] AWS_PREFIXES = {"AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "APKA"};

    static int awsAccessKey(Scan t, int i) {
        String s = t.s;
        int n = t.n;
        if (i + 20 > n) {
            return -1;
        }
        boolean prefix = false;
        for (String p : AWS_PREFIXES) {
            prefix |= s.startsWith(p, i);
        }
        if (!prefix) {
            return -1;
        }
        for (int k = i + 4; k < i + 20; k++) {
            char c = s.charAt(k);
            if (!isUpper(c) && !isDigit(c)) {
                return -1;
            }
        }
        return token(t, i, i + 20, RedactionType.AWS_ACCESS_KEY);
    }

    static int googleApiKey(Scan t, int i) {
        String s = t.s;
        int n = t.n;
        if (!s.startsWith("AIza", i) || i + 39 > n) {
            return -1;
        }
        for (int k = i + 4; k < i + 39; k++) {
            if (s.charAt(k) >= 128 || !BASE64URL[s.charAt(k)]) {
                return -1;
            }
        }
        return token(t, i, i + 39, RedactionType.GOOGLE_API_KEY);
    }

    static int githubToken(Scan t, int i) {
        String s = t.s;
        int n = t.n;
        if (s.startsWith("github_pat_", i)) {
            int end = run(s, i + 11, WORD);
            return end - i - 11 >= 22 ? token(t, i, end, RedactionType.GITHUB_TOKEN) : -1;
        }
        if (i + 4 <= n && s.charAt(i + 1) == 'h' && "pousr".indexOf(s.charAt(i + 2)) >= 0 && s.charAt(i + 3) == '_') {
            int end = runAlnum(s, i + 4);
            return end - i - 4 >= 30 ? token(t, i, end, RedactionType.GITHUB_TOKEN) : -1;
        }
        return -1;
    }

    static int slackToken(Scan t, int i) {
        String s = t.s;
        int n = t.n;
        boolean prefix = i + 5 <= n && s.startsWith("xox", i) && "abposr".indexOf(s.charAt(i + 3)) >= 0 && s.charAt(i + 4) == '-';
        if (!prefix) {
            return -1;
        }
        int end = i + 5;
        int limit = Math.min(n, i + 256);
        while (end < limit && (isAlnum(s.charAt(end)) || s.charAt(end) == '-')) {
            end++;
        }
        return end - i - 5 >= 10 ? token(t, i, end, RedactionType.SLACK_TOKEN) : -1;
    }

    static int stripeKey(Scan t, int i) {
        String s = t.s;
        if (!(s.startsWith("sk_live_", i) || s.startsWith("sk_test_", i) || s.startsWith("rk_live_", i) || s.startsWith("rk_test_", i))) {
            return -1;
        }
        int end = runAlnum(s, i + 8);
        return end - i - 8 >= 16 ? token(t, i, end, RedactionType.STRIPE_KEY) : -1;
    }

    /** header.payload.signature, base64url; header and payload are JSON objects, so both start "eyJ". */
    static int jwt(Scan t, int i) {
        String s = t.s;
        int n = t.n;
        if (!s.startsWith("eyJ", i)) {
            return -1;
        }
        int dot1 = run(s, i, BASE64URL);
        if (dot1 - i < 10 || dot1 >= n || s.charAt(dot1) != '.' || !s.startsWith("eyJ", dot1 + 1)) {
            return -1;
        }
        int dot2 = run(s, dot1 + 1, BASE64URL);
        if (dot2 - dot1 < 10 || dot2 >= n || s.charAt(dot2) != '.') {
            return -1;
        }
        int end = run(s, dot2 + 1, BASE64URL);
        return token(t, i, end, RedactionType.JWT);
    }

    /** "Bearer <token68>": the credential only, the word Bearer stays. */
    static int bearer(Scan t, int i) {
        String s = t.s;
        int n = t.n;
        if (i + 7 > n || !s.regionMatches(true, i, "bearer", 0, 6) || s.charAt(i + 6) != ' ') {
            return -1;
        }
        int ts = i + 7;
        while (ts < n && ts - i < 10 && s.charAt(ts) == ' ') {
            ts++;
        }
        int end = run(s, ts, TOKEN68);
        while (end < n && s.charAt(end) == '=') {
            end++;
        }
        while (end > ts && (s.charAt(end - 1) == '.')) {
            end--;
        }
        boolean hasDigitOrSymbol = false;
        for (int k = ts; k < end; k++) {
            hasDigitOrSymbol |= !Character.isLetter(s.charAt(k));
        }
        if (end - ts < 8 || !hasDigitOrSymbol || isWordish(s, end)) {
            return -1; // "bearer authentication": prose
        }
        t.add(ts, end, RedactionType.BEARER_TOKEN, s.substring(ts, end));
        return -1; // the scan goes on into the token: a JWT or a GitHub token there gets its own type
    }

    private static int token(Scan t, int start, int end, RedactionType type) {
        if (isWordish(t.s, end)) {
            return -1;
        }
        t.add(start, end, type, t.s.substring(start, end));
        return end;
    }

    private static int run(String s, int k, boolean[] cls) {
        int n = s.length();
        int limit = Math.min(n, k + Scan.MAX_TOKEN);
        while (k < limit && s.charAt(k) < 128 && cls[s.charAt(k)]) {
            k++;
        }
        return k;
    }

    private static int runAlnum(String s, int k) {
        int n = s.length();
        int limit = Math.min(n, k + 255);
        while (k < limit && isAlnum(s.charAt(k))) {
            k++;
        }
        return k;
    }

    private static final Set<String> NOT_SECRETS = Set.of(
            "null", "none", "nil", "true", "false", "undefined", "empty", "string", "str", "bytes", "int", "number",
            "boolean", "bool", "any", "object", "optional", "required", "redacted", "hidden", "masked");

    private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z_0-9]*");
    private static final Pattern IDENTIFIER_CHAIN =
            Pattern.compile("[A-Za-z_][A-Za-z_0-9]*(?:\\.[A-Za-z_][A-Za-z_0-9]*)+");

    private static boolean isBase64(String v) {
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (!isAlnum(c) && c != '+' && c != '/') {
                return false;
            }
        }
        return true;
    }
}
