package io.qlorastream.redact;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Finds personal data and secrets in free text and replaces each with a typed, numbered placeholder
 * ({@code <EMAIL_1>}): the same value twice gets the same placeholder, a second distinct value the next number.
 * Plain Java, no Kafka; immutable and thread-safe.
 *
 * <p>Written by hand rather than as one regular expression per recognizer (no library on Maven Central does
 * typed, checksum-validated PII and secret detection at this speed): a single pass over the text looks at
 * cheap triggers only ({@code @} for emails, {@code ://} for URLs, {@code =} and {@code :} for assignments,
 * {@code +} and digits at a word start for numbers, known prefixes at a word start for tokens) and runs a
 * bounded, backtracking-free check there. Every check looks at most a fixed number of characters ahead
 * (a PEM block excepted: it runs to its END line, or to the end of the text when truncated), so the cost is
 * linear in the text whatever it holds.
 *
 * <p>Overlapping matches: the longer wins (a URL with credentials beats the email inside it, a PEM block beats
 * everything in it); on equal length the more specific type ({@link RedactionType} order), then the earlier.
 */
public final class Redactor {
    private static final int MAX_TOKEN = 8192;

    private final Set<RedactionType> enabled;

    /** A redactor for every {@link RedactionType}. */
    public Redactor() {
        this(EnumSet.allOf(RedactionType.class));
    }

    /** A redactor for the given types only (a policy that keeps, say, IP addresses). */
    public Redactor(Set<RedactionType> enabled) {
        this.enabled = enabled.isEmpty() ? EnumSet.noneOf(RedactionType.class) : EnumSet.copyOf(enabled);
    }

    public Set<RedactionType> enabledTypes() {
        return EnumSet.copyOf(enabled.isEmpty() ? EnumSet.noneOf(RedactionType.class) : enabled);
    }

    public RedactionResult redact(String text) {
        return redact(text, List.of());
    }

    /** Redacts {@code text}, also replacing every whole-word, case-insensitive recurrence of the known values. */
    public RedactionResult redact(String text, Collection<KnownValue> known) {
        List<Match> matches = new ArrayList<>();
        new Scan(text, matches).run();
        findKnown(text, known, matches);
        if (matches.isEmpty()) {
            return new RedactionResult(text, Map.of());
        }
        return replace(text, resolve(matches));
    }

    // ---------------------------------------------------------------- matches and their resolution

    private record Match(int start, int end, RedactionType type, String key) {
        int length() {
            return end - start;
        }
    }

    private static final Comparator<Match> PRECEDENCE = Comparator.comparingInt(Match::length).reversed()
            .thenComparingInt(m -> m.type().specificity())
            .thenComparingInt(Match::start);

    /** The non-overlapping matches that win, in text order. */
    private static Collection<Match> resolve(List<Match> matches) {
        matches.sort(PRECEDENCE);
        TreeMap<Integer, Match> accepted = new TreeMap<>();
        for (Match m : matches) {
            Map.Entry<Integer, Match> before = accepted.floorEntry(m.start());
            if (before != null && before.getValue().end() > m.start()) {
                continue;
            }
            Map.Entry<Integer, Match> after = accepted.ceilingEntry(m.start());
            if (after != null && after.getKey() < m.end()) {
                continue;
            }
            accepted.put(m.start(), m);
        }
        return accepted.values();
    }

    private static RedactionResult replace(String text, Collection<Match> winners) {
        StringBuilder out = new StringBuilder(text.length());
        Map<RedactionType, Map<String, Integer>> numbers = new EnumMap<>(RedactionType.class);
        Map<RedactionType, Integer> counts = new EnumMap<>(RedactionType.class);
        int at = 0;
        for (Match m : winners) {
            out.append(text, at, m.start());
            Map<String, Integer> ofType = numbers.computeIfAbsent(m.type(), t -> new HashMap<>());
            int n = ofType.computeIfAbsent(m.key(), k -> ofType.size() + 1);
            out.append(m.type().placeholder(n));
            counts.merge(m.type(), 1, Integer::sum);
            at = m.end();
        }
        out.append(text, at, text.length());
        return new RedactionResult(out.toString(), counts);
    }

    private void add(List<Match> out, int start, int end, RedactionType type, String key) {
        if (enabled.contains(type)) {
            out.add(new Match(start, end, type, key));
        }
    }

    // ---------------------------------------------------------------- known values

    private void findKnown(String text, Collection<KnownValue> known, List<Match> out) {
        if (known.isEmpty()) {
            return;
        }
        String lower = text.toLowerCase(Locale.ROOT);
        // Lower-casing keeps indices only when no character changes length (it does for a few, e.g. U+0130).
        boolean sameIndices = lower.length() == text.length();
        for (KnownValue kv : known) {
            String value = kv.value().strip();
            if (value.length() < 2) {
                continue;
            }
            String key = normalize(kv.type(), value);
            String needle = value.toLowerCase(Locale.ROOT);
            if (sameIndices && needle.length() == value.length()) {
                findWholeWords(text, lower, needle, kv.type(), key, out);
            } else {
                findWholeWordsIgnoringCase(text, value, kv.type(), key, out);
            }
            if (kv.type() == RedactionType.NAME) {
                for (String part : WHITESPACE.split(value)) {
                    if (part.length() >= 3 && !part.equals(value) && Character.isLetter(part.charAt(0))) {
                        findWholeWords(text, text, part, kv.type(), key, out);
                    }
                }
            }
        }
    }

    private void findWholeWords(String text, String haystack, String needle, RedactionType type, String key, List<Match> out) {
        int from = 0;
        int i;
        while ((i = haystack.indexOf(needle, from)) >= 0) {
            int end = i + needle.length();
            if (!isWordish(text, i - 1) && !isWordish(text, end)) {
                add(out, i, end, type, key);
            }
            from = i + 1;
        }
    }

    private void findWholeWordsIgnoringCase(String text, String value, RedactionType type, String key, List<Match> out) {
        int len = value.length();
        for (int i = 0; i + len <= text.length(); i++) {
            if (text.regionMatches(true, i, value, 0, len) && !isWordish(text, i - 1) && !isWordish(text, i + len)) {
                add(out, i, i + len, type, key);
            }
        }
    }

    /** The identity of a value for numbering: two spellings of one value share a placeholder. */
    private static String normalize(RedactionType type, String value) {
        return switch (type) {
            case EMAIL, NAME, ACCOUNT_ID, IP_ADDRESS -> value.toLowerCase(Locale.ROOT);
            case PHONE, CARD, SSN, IBAN -> {
                StringBuilder b = new StringBuilder(value.length());
                for (int i = 0; i < value.length(); i++) {
                    char c = value.charAt(i);
                    if (Character.isLetterOrDigit(c) || c == '+') {
                        b.append(Character.toUpperCase(c));
                    }
                }
                yield b.toString();
            }
            default -> value;
        };
    }

    // ---------------------------------------------------------------- character classes

    private static final boolean[] WORD = new boolean[128];
    private static final boolean[] HEX = new boolean[128];
    private static final boolean[] EMAIL_LOCAL = new boolean[128];
    private static final boolean[] BASE64URL = new boolean[128];
    private static final boolean[] TOKEN68 = new boolean[128];

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

    private static boolean isWord(char c) {
        return c < 128 && WORD[c];
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean isUpper(char c) {
        return c >= 'A' && c <= 'Z';
    }

    private static boolean isAlnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }

    private static boolean isHex(char c) {
        return c < 128 && HEX[c];
    }

    /** True when the char at {@code i} exists and belongs to a word (ASCII word chars and any Unicode letter/digit). */
    private static boolean isWordish(String s, int i) {
        if (i < 0 || i >= s.length()) {
            return false;
        }
        char c = s.charAt(i);
        return c < 128 ? WORD[c] : Character.isLetterOrDigit(c);
    }

    private static boolean isQuote(char c) {
        return c == '"' || c == '\'' || c == '`';
    }

    // ---------------------------------------------------------------- the scan

    /** One pass over one text; collects candidate matches. */
    private final class Scan {
        private final String s;
        private final int n;
        private final List<Match> out;

        Scan(String s, List<Match> out) {
            this.s = s;
            this.n = s.length();
            this.out = out;
        }

        void run() {
            int i = 0;
            while (i < n) {
                char c = s.charAt(i);
                if (c < 128 && WORD[c]) {
                    // only word starts reach here: the rest of each word is skipped below
                    i = Math.max(wordStart(i), wordEnd(i));
                    continue;
                }
                int next = -1;
                switch (c) {
                    case '@' -> email(i);
                    case ':' -> {
                        if (i + 2 < n && s.charAt(i + 1) == '/' && s.charAt(i + 2) == '/') {
                            next = url(i);
                        } else if (i + 1 < n && s.charAt(i + 1) == ':') {
                            next = ipv6(i);
                        }
                        if (next < 0) {
                            assignment(i);
                        }
                    }
                    case '=' -> assignment(i);
                    case '-' -> {
                        if (s.startsWith("-----BEGIN ", i)) {
                            next = pem(i);
                        }
                    }
                    case '+' -> {
                        if (i + 1 < n && isDigit(s.charAt(i + 1)) && !isWordish(s, i - 1)) {
                            next = internationalPhone(i);
                        }
                    }
                    case '(' -> {
                        if (i + 1 < n && isDigit(s.charAt(i + 1))) {
                            nanpWithParentheses(i);
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
                case 'A' -> end = Math.max(awsAccessKey(i), googleApiKey(i));
                case 'g' -> end = githubToken(i);
                case 'x' -> end = slackToken(i);
                case 's', 'r' -> end = stripeKey(i);
                case 'e' -> end = jwt(i);
                case 'B', 'b' -> end = bearer(i);
                default -> {
                }
            }
            if (end < 0 && isUpper(c)) {
                end = iban(i);
            }
            if (end < 0 && isHex(c)) {
                int hexEnd = i + 1;
                while (hexEnd < n && hexEnd - i < 5 && isHex(s.charAt(hexEnd))) {
                    hexEnd++;
                }
                if (hexEnd < n && s.charAt(hexEnd) == ':') {
                    end = ipv6(i); // fe80::1, only when a hex run meets a colon
                }
            }
            return end;
        }

        // ------------------------------------------------------------ emails and URLs

        private void email(int at) {
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
            add(out, start, d, RedactionType.EMAIL, s.substring(start, d).toLowerCase(Locale.ROOT));
        }

        /** {@code scheme://user:password@host...} and Slack webhooks; {@code colon} is the ':' of "://". */
        private int url(int colon) {
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
                int end = urlEnd(authority);
                add(out, start, end, RedactionType.SLACK_WEBHOOK, s.substring(start, end));
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
            int end = urlEnd(at + 1);
            add(out, start, end, RedactionType.URL_CREDENTIALS, s.substring(start, end));
            return end;
        }

        private int urlEnd(int k) {
            int limit = Math.min(n, k + MAX_TOKEN);
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

        private boolean isSchemeChar(char c) {
            return isAlnum(c) || c == '+' || c == '.' || c == '-';
        }

        // ------------------------------------------------------------ PEM blocks and assignments

        private int pem(int i) {
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
            add(out, i, end, RedactionType.PRIVATE_KEY, s.substring(i, end));
            return end;
        }

        /** {@code password=...}, {@code "api_key": "..."}, {@code token: ...}; {@code op} is the '=' or ':'. */
        private void assignment(int op) {
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
            if (k > 0 && isQuote(s.charAt(k - 1))) {
                k--;
            }
            int keyEnd = k;
            while (k > 0 && keyEnd - k < 64 && isKeyChar(s.charAt(k - 1))) {
                k--;
            }
            if (k == keyEnd || !isSecretKey(s.substring(k, keyEnd).toLowerCase(Locale.ROOT))) {
                return;
            }
            String key = s.substring(k, keyEnd).toLowerCase(Locale.ROOT);
            int v = op + 1;
            while (v < n && v - op < 8 && (s.charAt(v) == ' ' || s.charAt(v) == '\t')) {
                v++;
            }
            if (v >= n) {
                return;
            }
            int vs;
            int ve;
            boolean quoted = isQuote(s.charAt(v));
            if (quoted) {
                char q = s.charAt(v);
                vs = v + 1;
                ve = vs;
                int limit = Math.min(n, vs + 512);
                while (ve < limit && s.charAt(ve) != q && s.charAt(ve) != '\n') {
                    ve++;
                }
                if (ve >= n || s.charAt(ve) != q) {
                    return;
                }
            } else {
                vs = v;
                ve = valueEnd(vs);
                String word = s.substring(vs, ve);
                if ((word.equalsIgnoreCase("basic") || word.equalsIgnoreCase("token") || word.equalsIgnoreCase("bearer"))
                        && ve < n && s.charAt(ve) == ' ') {
                    if (word.equalsIgnoreCase("bearer")) {
                        return; // the bearer recognizer takes it
                    }
                    vs = ve + 1; // "Authorization: Basic dXNlcjpwYXNz": the credential follows the scheme
                    ve = valueEnd(vs);
                }
                while (ve > vs && ".:".indexOf(s.charAt(ve - 1)) >= 0) {
                    ve--; // sentence punctuation
                }
                if (ve < n && s.charAt(ve) == '(') {
                    return; // password = readPassword(): code
                }
            }
            String value = s.substring(vs, ve);
            if (value.length() < 4 || isPlaceholderOrCode(value, key, quoted, ve)) {
                return;
            }
            RedactionType type = key.contains("aws") && value.length() == 40 && isBase64(value)
                    ? RedactionType.AWS_SECRET_KEY : RedactionType.SECRET;
            add(out, vs, ve, type, value);
        }

        private int valueEnd(int vs) {
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

        private boolean isPlaceholderOrCode(String value, String key, boolean quoted, int ve) {
            char first = value.charAt(0);
            if ("<$%{*".indexOf(first) >= 0 || value.chars().allMatch(ch -> ch == first)) {
                return true; // <REDACTED>, ${TOKEN}, %(pw)s, {{ secret }}, ****, xxxx
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
            return identifier && (lower.equals(key) || lower.equals(keyTail) || ve < n && s.charAt(ve) == ';');
        }

        private boolean isKeyChar(char c) {
            return isAlnum(c) || c == '_' || c == '-' || c == '.';
        }

        // ------------------------------------------------------------ numbers

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
                int v6 = ipv6(i);
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
                end = Math.max(end, ipv4(i));
            }
            if (d - i == 3 && d < n && s.charAt(d) == '-') {
                end = Math.max(end, ssn(i));
            }
            if (s.charAt(i) >= '2' && s.charAt(i) <= '6') {
                end = Math.max(end, card(i));
            }
            if (s.charAt(i) == '0') {
                end = Math.max(end, trunkPhone(i));
            } else {
                end = Math.max(end, nanp(i));
            }
            return Math.max(end, wordEnd);
        }

        private int ipv4(int i) {
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
            add(out, i, k, RedactionType.IP_ADDRESS, s.substring(i, k));
            return k;
        }

        /** IPv6 with "::" compression and an optional dotted IPv4 tail; from a hex digit or a leading "::". */
        private int ipv6(int a) {
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
            if (b == limit && limit < n || isWordish(s, b) || isWordish(s, a - 1) || !validIpv6(a, b)) {
                return -1;
            }
            if (b - a == 3 && s.startsWith("::1", a)) {
                return b; // loopback
            }
            add(out, a, b, RedactionType.IP_ADDRESS, s.substring(a, b).toLowerCase(Locale.ROOT));
            return b;
        }

        private boolean validIpv6(int a, int b) {
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
                    int tail = ipv4Length(k, b);
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

        private int ipv4Length(int k, int b) {
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

        /** ddd-dd-dddd, without the never-issued areas 000, 666, 900-999, group 00 or serial 0000. */
        private int ssn(int i) {
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
            add(out, i, end, RedactionType.SSN, s.substring(i, end));
            return end;
        }

        /** 13-19 digits, single spaces or dashes between groups, a card network's prefix and a valid Luhn sum. */
        private int card(int i) {
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
                    add(out, i, end, RedactionType.CARD, new String(digits, 0, len));
                    return end;
                }
            }
            return -1;
        }

        /** North American 555-123-4567, 555.123.4567, 555 123 4567, 1-555-123-4567 (one separator kind). */
        private int nanp(int i) {
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
            add(out, i, end, RedactionType.PHONE, s.substring(i, end));
            return end;
        }

        /** (555) 123-4567; {@code i} is the '('. */
        private void nanpWithParentheses(int i) {
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
            add(out, i, end, RedactionType.PHONE, s.substring(i, end));
        }

        /** National numbers with a trunk 0: 020 7946 0958, 06 12 34 56 78, 030-1234567; 10 or 11 digits. */
        private int trunkPhone(int i) {
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
            add(out, i, end, RedactionType.PHONE, s.substring(i, end));
            return end;
        }

        /** +44 20 7946 0958, +1-555-123-4567, +49 (0)30 1234567, +15551234567: 8 to 15 digits. */
        private int internationalPhone(int i) {
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
            add(out, i, end, RedactionType.PHONE, s.substring(i, end));
            return end;
        }

        /** DE89 3704 0044 0532 0130 00 or DE89370400440532013000: country, check digits, mod-97 valid. */
        private int iban(int i) {
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
                    add(out, i, end, RedactionType.IBAN, new String(chars, 0, len));
                    return end;
                }
            }
            // An IBAN-shaped string failing mod-97 is skipped whole, so its digit groups are not read as a phone.
            return count >= 15 ? pos[count - 1] + 1 : -1;
        }

        // ------------------------------------------------------------ secrets with known shapes

        private static final String[] AWS_PREFIXES = {"AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "APKA"};

        private int awsAccessKey(int i) {
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
            return token(i, i + 20, RedactionType.AWS_ACCESS_KEY);
        }

        private int googleApiKey(int i) {
            if (!s.startsWith("AIza", i) || i + 39 > n) {
                return -1;
            }
            for (int k = i + 4; k < i + 39; k++) {
                if (s.charAt(k) >= 128 || !BASE64URL[s.charAt(k)]) {
                    return -1;
                }
            }
            return token(i, i + 39, RedactionType.GOOGLE_API_KEY);
        }

        private int githubToken(int i) {
            if (s.startsWith("github_pat_", i)) {
                int end = run(i + 11, WORD);
                return end - i - 11 >= 22 ? token(i, end, RedactionType.GITHUB_TOKEN) : -1;
            }
            if (i + 4 <= n && s.charAt(i + 1) == 'h' && "pousr".indexOf(s.charAt(i + 2)) >= 0 && s.charAt(i + 3) == '_') {
                int end = runAlnum(i + 4);
                return end - i - 4 >= 30 ? token(i, end, RedactionType.GITHUB_TOKEN) : -1;
            }
            return -1;
        }

        private int slackToken(int i) {
            boolean prefix = i + 5 <= n && s.startsWith("xox", i) && "abposr".indexOf(s.charAt(i + 3)) >= 0 && s.charAt(i + 4) == '-';
            if (!prefix) {
                return -1;
            }
            int end = i + 5;
            int limit = Math.min(n, i + 256);
            while (end < limit && (isAlnum(s.charAt(end)) || s.charAt(end) == '-')) {
                end++;
            }
            return end - i - 5 >= 10 ? token(i, end, RedactionType.SLACK_TOKEN) : -1;
        }

        private int stripeKey(int i) {
            if (!(s.startsWith("sk_live_", i) || s.startsWith("sk_test_", i) || s.startsWith("rk_live_", i) || s.startsWith("rk_test_", i))) {
                return -1;
            }
            int end = runAlnum(i + 8);
            return end - i - 8 >= 16 ? token(i, end, RedactionType.STRIPE_KEY) : -1;
        }

        /** header.payload.signature, base64url; header and payload are JSON objects, so both start "eyJ". */
        private int jwt(int i) {
            if (!s.startsWith("eyJ", i)) {
                return -1;
            }
            int dot1 = run(i, BASE64URL);
            if (dot1 - i < 10 || dot1 >= n || s.charAt(dot1) != '.' || !s.startsWith("eyJ", dot1 + 1)) {
                return -1;
            }
            int dot2 = run(dot1 + 1, BASE64URL);
            if (dot2 - dot1 < 10 || dot2 >= n || s.charAt(dot2) != '.') {
                return -1;
            }
            int end = run(dot2 + 1, BASE64URL);
            return token(i, end, RedactionType.JWT);
        }

        /** "Bearer <token68>": the credential only, the word Bearer stays. */
        private int bearer(int i) {
            if (i + 7 > n || !s.regionMatches(true, i, "bearer", 0, 6) || s.charAt(i + 6) != ' ') {
                return -1;
            }
            int ts = i + 7;
            while (ts < n && ts - i < 10 && s.charAt(ts) == ' ') {
                ts++;
            }
            int end = run(ts, TOKEN68);
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
            add(out, ts, end, RedactionType.BEARER_TOKEN, s.substring(ts, end));
            return -1; // the scan goes on into the token: a JWT or a GitHub token there gets its own type
        }

        private int token(int start, int end, RedactionType type) {
            if (isWordish(s, end)) {
                return -1;
            }
            add(out, start, end, type, s.substring(start, end));
            return end;
        }

        private int run(int k, boolean[] cls) {
            int limit = Math.min(n, k + MAX_TOKEN);
            while (k < limit && s.charAt(k) < 128 && cls[s.charAt(k)]) {
                k++;
            }
            return k;
        }

        private int runAlnum(int k) {
            int limit = Math.min(n, k + 255);
            while (k < limit && isAlnum(s.charAt(k))) {
                k++;
            }
            return k;
        }
    }

    // ---------------------------------------------------------------- assignment keys

    private static final List<String> SECRET_KEY_SUFFIXES = List.of(
            "password", "passwd", "pwd", "passphrase", "secret", "token", "apikey", "api_key", "api-key",
            "accesskey", "access_key", "access-key", "secretkey", "secret_key", "secret-key", "privatekey",
            "private_key", "private-key", "credentials", "authorization", "_pass", "-pass");

    private static final Set<String> NOT_SECRETS = Set.of(
            "null", "none", "nil", "true", "false", "undefined", "empty", "string", "str", "bytes", "int", "number",
            "boolean", "bool", "any", "object", "optional", "required", "redacted", "hidden", "masked");

    private static final java.util.regex.Pattern WHITESPACE = java.util.regex.Pattern.compile("\\s+");
    private static final java.util.regex.Pattern IDENTIFIER = java.util.regex.Pattern.compile("[A-Za-z_][A-Za-z_0-9]*");
    private static final java.util.regex.Pattern IDENTIFIER_CHAIN =
            java.util.regex.Pattern.compile("[A-Za-z_][A-Za-z_0-9]*(?:\\.[A-Za-z_][A-Za-z_0-9]*)+");

    private static boolean isSecretKey(String key) {
        if (key.equals("pass")) {
            return true;
        }
        for (String suffix : SECRET_KEY_SUFFIXES) {
            if (key.endsWith(suffix)) {
                return true;
            }
        }
        return false;
    }

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
