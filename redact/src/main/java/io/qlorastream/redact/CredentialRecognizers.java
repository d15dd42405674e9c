package io.qlorastream.redact;

import java.util.List;
import java.util.Locale;
import java.util.Set;

import static io.qlorastream.redact.Chars.*;

/**
 * Credentials people paste without a known token shape: what a key name says its value is ({@link #keyType}),
 * command-line flags ({@code --password x}, mysql's {@code -pX}), {@code user:pass@host}, disclosures in prose in
 * the languages ingest accepts ("my password is X", "das Passwort lautet X", "le mot de passe est X", "la
 * contraseña es X", "the PIN is 4821", "use X to log in") and high-entropy strings near a credential word, judged
 * by character classes and Shannon entropy as gitleaks' generic-api-key rule does. Hand-written like the other
 * families: no library does this inside the one pass.
 */
final class CredentialRecognizers {
    private CredentialRecognizers() {
    }

    // ---------------------------------------------------------------- key names

    private static final Set<String> PASSWORD_WORDS = Set.of("password", "passwd", "pwd", "pass", "pw", "passphrase",
            "passwort", "kennwort", "contrasena", "mdp", "passcode", "passwords");
    private static final Set<String> PIN_WORDS = Set.of("pin", "pincode");
    private static final Set<String> SESSION_WORDS = Set.of("session", "sessionid", "sessid", "sid", "jsessionid",
            "phpsessid", "sessiontoken");
    private static final Set<String> SECRET_WORDS = Set.of("secret", "token", "apikey", "accesskey", "secretkey",
            "privatekey", "credentials", "credential", "authorization", "authtoken", "clientsecret", "secrets");
    /** A key word that makes a following "key" a credential: api_key, signing-key, MASTER_KEY. */
    private static final Set<String> KEY_QUALIFIERS = Set.of("api", "access", "private", "secret", "signing",
            "encryption", "master", "client", "consumer", "shared", "app", "license", "subscription", "x");
    /** A last word that makes the value about the credential, not the credential: password_length, token_type. */
    private static final Set<String> ABOUT_TAILS = Set.of("length", "len", "type", "count", "size", "min", "max",
            "policy", "file", "path", "dir", "url", "uri", "expiry", "expires", "expiration", "ttl", "name", "hint",
            "reset", "required", "field", "label", "prompt", "rules", "strength", "regex", "pattern", "mode", "format",
            "endpoint", "header", "param", "enabled", "changed", "age", "timeout", "id", "version", "location", "env",
            "store", "manager", "provider", "source", "ref", "arn", "algorithm", "lifetime", "attempts", "validity");
    /** Words that make a key worth an entropy check of its value: cache_key, signing_key_v2, AUTH. */
    private static final Set<String> CREDENTIAL_HINTS = Set.of("key", "auth", "token", "secret", "credential", "api");

    /** The lower-case words of a key: DB_PASSWORD, dbPassword and db.password all give [db, password]. */
    static List<String> words(String s, int from, int to) {
        List<String> out = new java.util.ArrayList<>(4);
        StringBuilder w = new StringBuilder();
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            boolean boundary = !isAlnum(c) && c != 'ñ';
            if (boundary || (isUpper(c) && i > from && Character.isLowerCase(s.charAt(i - 1)))) {
                if (w.length() > 0) {
                    out.add(w.toString());
                    w.setLength(0);
                }
                if (boundary) {
                    continue;
                }
            }
            w.append(c == 'ñ' ? 'n' : Character.toLowerCase(c));
        }
        if (w.length() > 0) {
            out.add(w.toString());
        }
        return out;
    }

    /**
     * What the value of a key names, or null when the key names no credential. {@link RedactionType#SECRET} with
     * {@code generic} means only a value that looks random counts (a key that merely mentions "key" or "auth").
     */
    static RedactionType keyType(String s, int from, int to, boolean[] generic) {
        List<String> w = words(s, from, to);
        generic[0] = false;
        if (w.isEmpty() || ABOUT_TAILS.contains(w.get(w.size() - 1))) {
            return null;
        }
        RedactionType found = null;
        boolean hint = false;
        for (int i = 0; i < w.size(); i++) {
            String x = w.get(i);
            RedactionType t = null;
            if (PASSWORD_WORDS.contains(x)) {
                t = RedactionType.PASSWORD;
            } else if (PIN_WORDS.contains(x)) {
                t = RedactionType.PIN;
            } else if (SESSION_WORDS.contains(x)) {
                t = RedactionType.SESSION_COOKIE;
            } else if (SECRET_WORDS.contains(x) || x.equals("key") && i > 0 && KEY_QUALIFIERS.contains(w.get(i - 1))) {
                t = RedactionType.SECRET;
            }
            if (t != null && (found == null || t.specificity() < found.specificity())) {
                found = t;
            }
            hint |= CREDENTIAL_HINTS.contains(x);
        }
        if (found == null && hint) {
            generic[0] = true;
            return RedactionType.SECRET;
        }
        return found;
    }

    // ---------------------------------------------------------------- random-looking values

    /** Shannon entropy of the string in bits per character. */
    static double entropy(String v) {
        int[] counts = new int[128];
        int other = 0;
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c < 128) {
                counts[c]++;
            } else {
                other++;
            }
        }
        double h = 0;
        double n = v.length();
        for (int c : counts) {
            if (c > 0) {
                h -= c / n * (Math.log(c / n) / Math.log(2));
            }
        }
        if (other > 0) {
            h -= other / n * (Math.log(other / n) / Math.log(2));
        }
        return h;
    }

    /**
     * A generated secret rather than an identifier: 16 to 200 token characters with upper case, lower case and
     * digits, entropy of at least 3.5 bits a character (gitleaks' threshold), some part mixing letters and digits
     * (build ids like release-20240315-ABC do not), and not base64 of readable text.
     */
    static boolean looksRandom(String v) {
        int n = v.length();
        if (n < 16 || n > 200) {
            return false;
        }
        boolean upper = false;
        boolean lower = false;
        boolean digit = false;
        boolean mixedPart = false;
        boolean partLetter = false;
        boolean partDigit = false;
        for (int i = 0; i < n; i++) {
            char c = v.charAt(i);
            if (c >= 128 || !TOKEN68[c] && !(c == '=' && i >= n - 2)) {
                return false; // '=' only as base64 padding: key=value is an assignment, not a value
            }
            if (c == '-' || c == '.' || c == '_') {
                partLetter = false;
                partDigit = false;
                continue;
            }
            upper |= isUpper(c);
            lower |= c >= 'a' && c <= 'z';
            digit |= isDigit(c);
            partLetter |= Character.isLetter(c);
            partDigit |= isDigit(c);
            mixedPart |= partLetter && partDigit;
        }
        return upper && lower && digit && mixedPart && !isIdentifier(v) && entropy(v) >= 3.5 && !isBase64OfText(v);
    }

    /**
     * A code identifier (OAuth2TokenValidator, TokenRefreshHandlerV2Impl): at most two digits and long runs of one
     * character class (a capital starting a word continues it), where random strings change class every two
     * characters or so.
     */
    private static boolean isIdentifier(String v) {
        int digits = 0;
        int runs = 1;
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            digits += isDigit(c) ? 1 : 0;
            if (i > 0 && charClass(c) != charClass(v.charAt(i - 1)) && !(isUpper(v.charAt(i - 1)) && charClass(c) == 1)) {
                runs++;
            }
        }
        return digits <= 2 && v.length() >= 4 * runs;
    }

    private static int charClass(char c) {
        return isUpper(c) ? 0 : c >= 'a' && c <= 'z' ? 1 : isDigit(c) ? 2 : 3;
    }

    private static boolean isBase64OfText(String v) {
        if (v.length() % 4 != 0) {
            return false;
        }
        try {
            byte[] b = java.util.Base64.getDecoder().decode(v);
            for (byte x : b) {
                if (x < 0x20 && x != '\n' && x != '\t' || x >= 0x7f) {
                    return false;
                }
            }
            return b.length > 0;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    // ---------------------------------------------------------------- flags and user:pass@host

    /** {@code --password x}, {@code --api-key "x"} at the '-' of {@code --}; mysql's and sshpass' {@code -p}. */
    static void flag(Scan t, int i) {
        String s = t.s;
        int n = t.n;
        if (i > 0 && !Character.isWhitespace(s.charAt(i - 1))) {
            return;
        }
        if (i + 2 < n && s.charAt(i + 1) == 'p' && !isWordish(s, i + 2) || i + 2 < n && s.charAt(i + 1) == 'p' && isMysqlLine(s, i)) {
            shortPassword(t, i);
            return;
        }
        if (i + 2 >= n || s.charAt(i + 1) != '-') {
            return;
        }
        int nameEnd = i + 2;
        while (nameEnd < n && nameEnd - i < 40 && (isAlnum(s.charAt(nameEnd)) || s.charAt(nameEnd) == '-' || s.charAt(nameEnd) == '_')) {
            nameEnd++;
        }
        if (nameEnd >= n || s.charAt(nameEnd) != ' ') {
            return; // --password=x is an assignment
        }
        boolean[] generic = new boolean[1];
        RedactionType type = keyType(s, i + 2, nameEnd, generic);
        if (type == null) {
            return;
        }
        int vs = nameEnd + 1;
        if (vs >= n || s.charAt(vs) == '-' || s.charAt(vs) == '$' || s.charAt(vs) == '<') {
            return;
        }
        int[] span = value(s, vs);
        if (span == null) {
            return;
        }
        String v = s.substring(span[0], span[1]);
        if (v.length() < 4 || generic[0] && !looksRandom(v)) {
            return;
        }
        t.add(span[0], span[1], type, v);
    }

    private static boolean isMysqlLine(String s, int i) {
        int ls = s.lastIndexOf('\n', i) + 1;
        String line = s.substring(ls, i);
        return line.contains("mysql") || line.contains("mariadb") || line.contains("sshpass");
    }

    /** {@code -pSecret}, {@code -p'Secret'} after mysql; {@code -p Secret} after sshpass. */
    private static void shortPassword(Scan t, int i) {
        String s = t.s;
        int n = t.n;
        if (!isMysqlLine(s, i)) {
            return;
        }
        int vs = i + 2;
        if (vs < n && s.charAt(vs) == ' ') {
            if (!s.substring(s.lastIndexOf('\n', i) + 1, i).contains("sshpass")) {
                return; // mysql -p alone prompts for the password
            }
            vs++;
        }
        if (vs >= n || Character.isWhitespace(s.charAt(vs))) {
            return;
        }
        int[] span = value(s, vs);
        if (span != null && span[1] - span[0] >= 3) {
            t.add(span[0], span[1], RedactionType.PASSWORD, s.substring(span[0], span[1]));
        }
    }

    /** A quoted value (its inside, escapes kept) or a run to the next whitespace. */
    private static int[] value(String s, int vs) {
        int n = s.length();
        char q = s.charAt(vs);
        if (isQuote(q)) {
            int e = quotedEnd(s, vs + 1, q);
            return e < 0 ? null : new int[]{vs + 1, e};
        }
        int e = vs;
        while (e < n && e - vs < 512 && !Character.isWhitespace(s.charAt(e))) {
            e++;
        }
        return new int[]{vs, e};
    }

    /** Where the quote {@code q} closes a value that starts at {@code from}, skipping backslash escapes; -1 if not on this line. */
    static int quotedEnd(String s, int from, char q) {
        int n = s.length();
        int limit = Math.min(n, from + 512);
        for (int e = from; e < limit; e++) {
            char c = s.charAt(e);
            if (c == '\\') {
                e++;
            } else if (c == q) {
                return e;
            } else if (c == '\n') {
                return -1;
            }
        }
        return -1;
    }

    /**
     * {@code user:pass@host} without a scheme (a URL with one is the URL recognizer's): the password only. True
     * when found: then the '@' starts no email address.
     */
    static boolean userPassword(Scan t, int at) {
        String s = t.s;
        int start = at;
        int limit = Math.max(0, at - 128);
        while (start > limit && !Character.isWhitespace(s.charAt(start - 1)) && "\"'`(<[=".indexOf(s.charAt(start - 1)) < 0) {
            start--;
        }
        int colon = start;
        while (colon < at && s.charAt(colon) != ':') {
            colon++;
        }
        if (colon == at || colon >= at - 1 || colon == start || s.startsWith("//", colon + 1)) {
            return false;
        }
        for (int k = start; k < colon; k++) {
            char c = s.charAt(k);
            if (!isAlnum(c) && c != '_' && c != '.' && c != '-') {
                return false;
            }
        }
        String user = s.substring(start, colon).toLowerCase(Locale.ROOT);
        if (Set.of("mailto", "to", "from", "cc", "bcc", "email", "mail", "reply-to").contains(user)) {
            return false;
        }
        int h = at + 1;
        while (h < t.n && (isAlnum(s.charAt(h)) || s.charAt(h) == '.' || s.charAt(h) == '-')) {
            h++;
        }
        String host = s.substring(at + 1, h);
        if (!(host.contains(".") || host.equals("localhost") || h < t.n && s.charAt(h) == ':')) {
            return false;
        }
        t.add(colon + 1, at, RedactionType.PASSWORD, s.substring(colon + 1, at));
        return true;
    }

    // ---------------------------------------------------------------- prose

    /** Words between a credential word and its value: "is", "ist", "lautet", "est", "es", "set to", "now"... */
    private static final Set<String> CONNECTORS = Set.of("is", "was", "are", "now", "still", "set", "to", "changed",
            "has", "been", "will", "be", "temporarily", "just", "currently", "again", "code", "number", "for", "the",
            "ist", "lautet", "war", "jetzt", "neu", "vorläufig", "est", "sera", "maintenant", "temporaire", "es",
            "era", "ahora", "temporal", "de", "la", "le", ":", "-", "=", "->", "here", "it's", "its");
    /** Values that are words of the sentence, not the credential. */
    private static final Set<String> NOT_VALUES = Set.of("incorrect", "wrong", "invalid", "expired", "required",
            "correct", "reset", "changed", "null", "none", "empty", "missing", "redacted", "hidden", "masked");

    /**
     * At a word start: a credential word ({@code password}, {@code Passwort}, {@code mot de passe}, {@code PIN},
     * {@code use}...) followed by its value, or a credential word near a random-looking value.
     */
    static void word(Scan t, int i, int wordEnd) {
        String s = t.s;
        int len = wordEnd - i;
        if (len < 2 || len > 11) {
            return;
        }
        char c = Character.toLowerCase(s.charAt(i));
        int after = -1;
        RedactionType type = null;
        switch (c) {
            case 'p' -> {
                if (is(s, i, wordEnd, "password", "passwort", "passwd", "pwd", "pw", "passcode", "passphrase")) {
                    type = RedactionType.PASSWORD;
                } else if (is(s, i, wordEnd, "pin")) {
                    type = RedactionType.PIN;
                }
                after = wordEnd;
            }
            case 'k' -> {
                if (is(s, i, wordEnd, "kennwort")) {
                    type = RedactionType.PASSWORD;
                    after = wordEnd;
                } else if (is(s, i, wordEnd, "key")) {
                    nearRandom(t, wordEnd);
                }
            }
            case 'c' -> {
                if (s.regionMatches(true, i, "contraseña", 0, 10)) {
                    type = RedactionType.PASSWORD;
                    after = i + 10;
                } else if (is(s, i, wordEnd, "clave")) {
                    type = RedactionType.PASSWORD;
                    after = wordEnd;
                } else if (is(s, i, wordEnd, "credentials", "credential")) {
                    nearRandom(t, wordEnd);
                }
            }
            case 'm' -> {
                if (s.regionMatches(true, i, "mot de passe", 0, 12)) {
                    type = RedactionType.PASSWORD;
                    after = i + 12;
                } else if (is(s, i, wordEnd, "mdp")) {
                    type = RedactionType.PASSWORD;
                    after = wordEnd;
                }
            }
            case 'u' -> {
                if (is(s, i, wordEnd, "use")) {
                    useToLogIn(t, wordEnd);
                }
            }
            case 't', 's', 'a' -> {
                if (is(s, i, wordEnd, "token", "secret", "apikey", "auth")) {
                    nearRandom(t, wordEnd);
                }
            }
            default -> {
            }
        }
        if (type != null) {
            disclosure(t, after, type);
        }
    }

    private static boolean is(String s, int i, int end, String... words) {
        for (String w : words) {
            if (w.length() == end - i && s.regionMatches(true, i, w, 0, w.length())) {
                return true;
            }
        }
        return false;
    }

    /** After "password": skip connector words, then the value if it looks like one. */
    private static void disclosure(Scan t, int from, RedactionType type) {
        String s = t.s;
        int n = t.n;
        int p = from;
        if (p >= n || s.charAt(p) != ' ' && s.charAt(p) != '\t') {
            return; // password=x, password: x are assignments
        }
        for (int words = 0; words < 5; words++) {
            while (p < n && p - from < 64 && (s.charAt(p) == ' ' || s.charAt(p) == '\t')) {
                p++;
            }
            if (p >= n || s.charAt(p) == '\n') {
                return;
            }
            int e = p;
            while (e < n && !Character.isWhitespace(s.charAt(e))) {
                e++;
            }
            String w = s.substring(p, e).toLowerCase(Locale.ROOT);
            String bare = w.endsWith(":") && w.length() > 1 ? w.substring(0, w.length() - 1) : w;
            if (CONNECTORS.contains(w) || CONNECTORS.contains(bare)) {
                if (w.length() > 1 && w.endsWith(":")) {
                    p = e;
                    break;
                }
                p = e;
                continue;
            }
            break;
        }
        while (p < n && (s.charAt(p) == ' ' || s.charAt(p) == '\t')) {
            p++;
        }
        if (p >= n) {
            return;
        }
        int vs;
        int ve;
        boolean quoted = false;
        char q = s.charAt(p);
        char close = q == '“' ? '”' : q == '«' ? '»' : q;
        if (isQuote(q) || q == '“' || q == '«') {
            vs = p + 1;
            if (s.charAt(vs < n ? vs : p) == ' ') {
                vs++;
            }
            ve = quotedEnd(s, vs, close);
            if (ve < 0) {
                return;
            }
            while (ve > vs && s.charAt(ve - 1) == ' ') {
                ve--;
            }
            quoted = true;
        } else {
            vs = p;
            ve = vs;
            while (ve < n && ve - vs < 256 && !Character.isWhitespace(s.charAt(ve))) {
                ve++;
            }
            while (ve > vs && ".,;:?)".indexOf(s.charAt(ve - 1)) >= 0) {
                ve--; // sentence punctuation
            }
        }
        if (ve <= vs) {
            return;
        }
        String v = s.substring(vs, ve);
        if (type == RedactionType.PIN || type == RedactionType.PASSWORD && allDigits(v) && v.length() <= 8) {
            if (allDigits(v) && v.length() >= 4 && v.length() <= 8) {
                t.add(vs, ve, RedactionType.PIN, v);
            }
            return;
        }
        if (isPasswordLike(v, quoted)) {
            t.add(vs, ve, type, v);
        }
    }

    /** Prose around a value: a password has a digit or a symbol, and is neither code, a placeholder, a date nor a version. */
    static boolean isPasswordLike(String v, boolean quoted) {
        if (v.length() < 4 || NOT_VALUES.contains(v.toLowerCase(Locale.ROOT))) {
            return false;
        }
        char first = v.charAt(0);
        if ("<{*%".indexOf(first) >= 0 || first == '$' && v.length() > 1 && (v.charAt(1) == '{' || v.charAt(1) == '(' || isUpper(v.charAt(1)))) {
            return false;
        }
        if (v.indexOf('(') >= 0 || v.endsWith(";") || v.contains("://") || v.indexOf('@') > 0 && v.indexOf('.') > v.indexOf('@')) {
            return false; // code, a URL, an email
        }
        boolean digitOrSymbol = false;
        boolean letter = false;
        boolean onlyNumberish = true;
        for (int k = 0; k < v.length(); k++) {
            char c = v.charAt(k);
            letter |= Character.isLetter(c);
            digitOrSymbol |= !Character.isLetter(c);
            onlyNumberish &= isDigit(c) || ".-/:".indexOf(c) >= 0;
        }
        if (onlyNumberish) {
            return false; // a date, a time, a version
        }
        if (letter && v.matches("[A-Za-z_][A-Za-z_0-9]*(?:\\.[A-Za-z_][A-Za-z_0-9]*)+")) {
            return false; // config.password: code
        }
        return quoted || digitOrSymbol;
    }

    private static boolean allDigits(String v) {
        for (int k = 0; k < v.length(); k++) {
            if (!isDigit(v.charAt(k))) {
                return false;
            }
        }
        return !v.isEmpty();
    }

    /** "use Summer2024! to log in": the value between "use" and a log-in phrase. */
    private static void useToLogIn(Scan t, int from) {
        String s = t.s;
        int n = t.n;
        int vs = from + 1;
        if (from >= n || s.charAt(from) != ' ' || vs >= n) {
            return;
        }
        boolean quoted = isQuote(s.charAt(vs));
        int ve;
        if (quoted) {
            ve = quotedEnd(s, vs + 1, s.charAt(vs));
            if (ve < 0) {
                return;
            }
            vs++;
        } else {
            ve = vs;
            while (ve < n && ve - vs < 128 && !Character.isWhitespace(s.charAt(ve))) {
                ve++;
            }
        }
        int tail = quoted ? ve + 1 : ve;
        boolean logIn = false;
        for (String phrase : LOG_IN) {
            logIn |= s.regionMatches(true, tail, phrase, 0, phrase.length());
        }
        String v = s.substring(vs, ve);
        if (logIn && isPasswordLike(v, quoted)) {
            t.add(vs, ve, RedactionType.PASSWORD, v);
        }
    }

    private static final List<String> LOG_IN = List.of(" to log in", " to login", " to sign in", " to log on",
            " as the password", " as your password", " as password", " for the login", " to get in");

    /** A random-looking value within a few words after "token", "key", "secret": gitleaks' generic-api-key in prose. */
    private static void nearRandom(Scan t, int from) {
        String s = t.s;
        int n = t.n;
        int p = from;
        int limit = Math.min(n, from + 48);
        for (int words = 0; words < 5 && p < limit; words++) {
            while (p < n && (Character.isWhitespace(s.charAt(p)) || ":=\"'`".indexOf(s.charAt(p)) >= 0)) {
                if (s.charAt(p) == '\n' && words > 0) {
                    return;
                }
                p++;
            }
            int e = p;
            while (e < n && e - p < 256 && !Character.isWhitespace(s.charAt(e)) && "\"'`,;()<>".indexOf(s.charAt(e)) < 0) {
                e++;
            }
            int ve = e;
            while (ve > p && ".:".indexOf(s.charAt(ve - 1)) >= 0) {
                ve--;
            }
            if (ve < e && s.charAt(e - 1) == '.' && ve - p < 16) {
                return; // the sentence ended
            }
            if (ve - p >= 16) {
                String v = s.substring(p, ve);
                if (looksRandom(v)) {
                    t.add(p, ve, RedactionType.SECRET, v);
                }
                return;
            }
            p = e;
        }
    }
}
