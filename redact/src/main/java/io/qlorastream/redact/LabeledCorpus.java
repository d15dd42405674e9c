package io.qlorastream.redact;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * A labeled corpus for measuring redaction: ticket and review texts generated from a seed, each with planted values
 * (the exact text that must go, and its type) in every syntax the recognizers cover, and as many look-alikes (text
 * that must stay exactly as it is: hashes, UUIDs, build ids, code, placeholders, prose about passwords).
 * {@link #measure} redacts every text and reports recall per type and the share of look-alikes kept.
 */
public final class LabeledCorpus {

    /** A planted value and its expected type. */
    public record Planted(String value, RedactionType type) {
    }

    /** One text with what it holds. */
    public record Sample(String text, List<Planted> planted, List<String> lookAlikes) {
    }

    /** Found and planted per type; look-alikes kept and planted. */
    public record Report(Map<RedactionType, int[]> byType, int lookAlikesKept, int lookAlikes) {
        public double recall(RedactionType type) {
            int[] c = byType.get(type);
            return c == null ? Double.NaN : c[0] / (double) c[1];
        }

        public double recall() {
            int found = 0;
            int planted = 0;
            for (int[] c : byType.values()) {
                found += c[0];
                planted += c[1];
            }
            return found / (double) planted;
        }

        public int planted() {
            return byType.values().stream().mapToInt(c -> c[1]).sum();
        }

        public double kept() {
            return lookAlikesKept / (double) lookAlikes;
        }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder(String.format("recall %.2f %% of %d planted values; look-alikes kept %.2f %% of %d%n",
                    100 * recall(), planted(), 100 * kept(), lookAlikes));
            byType.forEach((t, c) -> b.append(String.format("  %-16s %6.2f %% (%d of %d)%n", t, 100.0 * c[0] / c[1], c[0], c[1])));
            return b.toString();
        }
    }

    private LabeledCorpus() {
    }

    /** {@code count} texts, each with two planted values and two look-alikes among ticket or review prose. */
    public static List<Sample> generate(long seed, int count) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<Sample> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            List<Planted> planted = new ArrayList<>();
            List<String> lookAlikes = new ArrayList<>();
            StringBuilder b = new StringBuilder(pick(rnd, OPENINGS)).append(' ');
            for (int k = 0; k < 2; k++) {
                Template t = PLANTS.get(rnd.nextInt(PLANTS.size()));
                String value = t.value.apply(rnd);
                b.append(String.format(t.format, value)).append(rnd.nextBoolean() ? "\n" : " ");
                planted.add(new Planted(t.unescape ? value.replace("\\\"", "\"").replace("\\\"", "\"") : value, t.type));
                if (t.unescape) {
                    planted.set(planted.size() - 1, new Planted(value, t.type));
                }
                b.append(pick(rnd, FILLERS)).append(' ');
                String look = LOOK_ALIKES.get(rnd.nextInt(LOOK_ALIKES.size())).apply(rnd);
                lookAlikes.add(look);
                b.append(look).append(rnd.nextBoolean() ? "\n" : " ");
            }
            b.append(pick(rnd, CLOSINGS));
            out.add(new Sample(b.toString(), planted, lookAlikes));
        }
        return out;
    }

    /** Redacts every sample: a planted value counts as found when it is gone and its type was counted. */
    public static Report measure(Redactor redactor, List<Sample> samples) {
        Map<RedactionType, int[]> byType = new EnumMap<>(RedactionType.class);
        int kept = 0;
        int looks = 0;
        for (Sample s : samples) {
            RedactionResult r = redactor.redact(s.text());
            for (Planted p : s.planted()) {
                int[] c = byType.computeIfAbsent(p.type(), t -> new int[2]);
                c[1]++;
                if (!r.text().contains(p.value()) && r.count(p.type()) > 0) {
                    c[0]++;
                }
            }
            for (String l : s.lookAlikes()) {
                looks++;
                if (r.text().contains(l)) {
                    kept++;
                }
            }
        }
        return new Report(byType, kept, looks);
    }

    /** The samples as JSON Lines: text, planted values with their types, look-alikes. */
    public static String toJsonLines(List<Sample> samples) {
        StringBuilder b = new StringBuilder();
        for (Sample s : samples) {
            b.append("{\"text\":").append(json(s.text())).append(",\"planted\":[");
            for (int i = 0; i < s.planted().size(); i++) {
                Planted p = s.planted().get(i);
                b.append(i > 0 ? "," : "").append("{\"type\":\"").append(p.type()).append("\",\"value\":").append(json(p.value())).append('}');
            }
            b.append("],\"look_alikes\":[");
            for (int i = 0; i < s.lookAlikes().size(); i++) {
                b.append(i > 0 ? "," : "").append(json(s.lookAlikes().get(i)));
            }
            b.append("]}\n");
        }
        return b.toString();
    }

    private static String json(String v) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : v.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    // ---------------------------------------------------------------- values

    private static String pick(SplittableRandom rnd, String[] from) {
        return from[rnd.nextInt(from.length)];
    }

    private static final String LOWER = "abcdefghijklmnopqrstuvwxyz";
    private static final String UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    private static final String DIGITS = "0123456789";
    private static final String ALNUM = LOWER + UPPER + DIGITS;
    private static final String SYMBOLS = "!#%^*-_+~";

    private static String chars(SplittableRandom rnd, String from, int n) {
        StringBuilder b = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            b.append(from.charAt(rnd.nextInt(from.length())));
        }
        return b.toString();
    }

    private static final String[] WORDS = {"Summer", "winter", "Dragon", "monkey", "Sunshine", "falcon", "Purple",
            "tiger", "Coffee", "river", "Rocket", "maple", "Orange", "shadow", "Galaxy", "pepper"};

    /** What people choose: a word with digits and a symbol, a random string, a passphrase, leetspeak. */
    static String password(SplittableRandom rnd) {
        return switch (rnd.nextInt(4)) {
            case 0 -> pick(rnd, WORDS) + (1990 + rnd.nextInt(36)) + SYMBOLS.charAt(rnd.nextInt(SYMBOLS.length()));
            case 1 -> chars(rnd, UPPER, 1) + chars(rnd, ALNUM + SYMBOLS, 8 + rnd.nextInt(8)) + chars(rnd, DIGITS, 1);
            case 2 -> pick(rnd, WORDS).toLowerCase() + "-" + pick(rnd, WORDS).toLowerCase() + "-" + rnd.nextInt(100);
            default -> "P" + chars(rnd, "a4e3i1o0s5", 3) + "w0rd" + chars(rnd, DIGITS, 2) + "!";
        };
    }

    /** A generated API secret: base62, 24 to 40 characters. */
    static String randomSecret(SplittableRandom rnd) {
        while (true) {
            String v = chars(rnd, ALNUM, 24 + rnd.nextInt(17));
            if (v.chars().anyMatch(Character::isDigit) && v.chars().anyMatch(Character::isUpperCase) && v.chars().anyMatch(Character::isLowerCase)) {
                return v;
            }
        }
    }

    private static String pin(SplittableRandom rnd) {
        return String.valueOf(1000 + rnd.nextInt(9000)) + (rnd.nextBoolean() ? chars(rnd, DIGITS, 2) : "");
    }

    private static String card(SplittableRandom rnd, boolean valid) {
        String prefix = pick(rnd, new String[]{"4", "51", "52", "55", "37"});
        int len = prefix.equals("37") ? 15 : 16;
        String body = prefix + chars(rnd, DIGITS, len - prefix.length() - 1);
        int check = luhnCheck(body);
        String digits = body + (valid ? check : (check + 1 + rnd.nextInt(9)) % 10);
        if (len == 15) {
            return digits.substring(0, 4) + " " + digits.substring(4, 10) + " " + digits.substring(10);
        }
        return digits.substring(0, 4) + " " + digits.substring(4, 8) + " " + digits.substring(8, 12) + " " + digits.substring(12);
    }

    private static int luhnCheck(String body) {
        int sum = 0;
        for (int i = 0; i < body.length(); i++) {
            int d = body.charAt(body.length() - 1 - i) - '0';
            if (i % 2 == 0) {
                d *= 2;
                if (d > 9) {
                    d -= 9;
                }
            }
            sum += d;
        }
        return (10 - sum % 10) % 10;
    }

    private static String iban(SplittableRandom rnd, boolean valid) {
        String bban = chars(rnd, DIGITS, 18);
        int check = 98 - new BigInteger(bban + "131400").mod(BigInteger.valueOf(97)).intValue();
        if (!valid) {
            check = check % 97 + 1 + rnd.nextInt(5);
        }
        String c = "DE" + String.format("%02d", check % 100) + bban;
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < c.length(); i += 4) {
            b.append(i > 0 ? " " : "").append(c, i, Math.min(c.length(), i + 4));
        }
        return b.toString();
    }

    private static String b64url(String json) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(StandardCharsets.UTF_8));
    }

    private record Template(String format, RedactionType type, Function<SplittableRandom, String> value, boolean unescape) {
        Template(String format, RedactionType type, Function<SplittableRandom, String> value) {
            this(format, type, value, false);
        }
    }

    private static final Function<SplittableRandom, String> PW = LabeledCorpus::password;
    private static final Function<SplittableRandom, String> RS = LabeledCorpus::randomSecret;

    private static final List<Template> PLANTS = List.of(
            // credentials assigned to key-like names, in each syntax
            new Template("password=%s", RedactionType.PASSWORD, PW),
            new Template("DB_PASSWORD=%s", RedactionType.PASSWORD, PW),
            new Template("export ADMIN_PASS=%s", RedactionType.PASSWORD, PW),
            new Template("database:\n  user: app\n  password: %s", RedactionType.PASSWORD, PW),
            new Template("{\"user\": \"svc\", \"password\": \"%s\"}", RedactionType.PASSWORD, PW),
            new Template("{\"passwd\": \"%s\"}", RedactionType.PASSWORD, r -> password(r) + "\\\"x", true),
            new Template("[db]\ndb_password = \"%s\"", RedactionType.PASSWORD, PW),
            new Template("[smtp]\npwd = %s", RedactionType.PASSWORD, PW),
            new Template("<user name=\"svc\" password=\"%s\" />", RedactionType.PASSWORD, PW),
            new Template("Server=db01;Database=shop;User Id=sa;Password=%s;", RedactionType.PASSWORD, PW),
            new Template("Data Source=db02;Uid=app;Pwd=%s;", RedactionType.PASSWORD, PW),
            new Template("connect with admin:%s@db.internal:5432", RedactionType.PASSWORD, PW),
            new Template("./deploy --password %s --env prod", RedactionType.PASSWORD, PW),
            new Template("mysql -u root -p%s shop", RedactionType.PASSWORD, PW),
            new Template("sshpass -p '%s' ssh admin@10.0.0.5", RedactionType.PASSWORD, PW),
            new Template("SMTP_PASSWD: '%s'", RedactionType.PASSWORD, PW),
            new Template("spring.datasource.password=%s", RedactionType.PASSWORD, PW),
            new Template("adminPassword: \"%s\"", RedactionType.PASSWORD, PW),
            new Template("api_key = \"%s\"", RedactionType.SECRET, RS),
            new Template("client_secret: %s", RedactionType.SECRET, RS),
            new Template("PRIVATE_KEY=%s", RedactionType.SECRET, RS),
            new Template("\"auth_token\": \"%s\"", RedactionType.SECRET, RS),
            new Template("./sync --api-key %s", RedactionType.SECRET, RS),
            new Template("signing_key_v2 = %s", RedactionType.SECRET, RS),
            // disclosures in prose
            new Template("my password is %s so please check", RedactionType.PASSWORD, PW),
            new Template("The temporary password is %s and it expires tomorrow.", RedactionType.PASSWORD, PW),
            new Template("I reset my password to %s yesterday.", RedactionType.PASSWORD, PW),
            new Template("pw = %s", RedactionType.PASSWORD, PW),
            new Template("passcode %s for the vault", RedactionType.PASSWORD, PW),
            new Template("you can use %s to log in for now.", RedactionType.PASSWORD, PW),
            new Template("Mein Passwort ist %s, bitte prüfen.", RedactionType.PASSWORD, PW),
            new Template("Das neue Kennwort lautet %s.", RedactionType.PASSWORD, PW),
            new Template("Mon mot de passe est %s depuis hier.", RedactionType.PASSWORD, PW),
            new Template("Mi contraseña es %s y no funciona.", RedactionType.PASSWORD, PW),
            new Template("password: \"%s\"", RedactionType.PASSWORD, r -> pick(r, WORDS) + " " + pick(r, WORDS).toLowerCase() + " " + r.nextInt(100)),
            new Template("the PIN is %s.", RedactionType.PIN, LabeledCorpus::pin),
            new Template("my pin is %s, don't share it", RedactionType.PIN, LabeledCorpus::pin),
            new Template("PIN: %s", RedactionType.PIN, LabeledCorpus::pin),
            new Template("Le code PIN est %s.", RedactionType.PIN, LabeledCorpus::pin),
            new Template("the api key is %s, rotate it", RedactionType.SECRET, RS),
            new Template("here is the token %s for staging", RedactionType.SECRET, RS),
            // headers and cookies
            new Template("curl -H 'Authorization: Bearer %s' https://api.example.com", RedactionType.BEARER_TOKEN,
                    r -> chars(r, ALNUM, 20) + "." + chars(r, ALNUM, 12)),
            new Template("Authorization: Basic %s", RedactionType.SECRET,
                    r -> Base64.getEncoder().encodeToString(("svc:" + password(r)).getBytes(StandardCharsets.UTF_8))),
            new Template("Authorization: Token %s", RedactionType.SECRET, RS),
            new Template("X-Api-Key: %s", RedactionType.SECRET, RS),
            new Template("Cookie: sessionid=%s; csrftoken=abc", RedactionType.SESSION_COOKIE, r -> chars(r, LOWER + DIGITS, 32)),
            new Template("Set-Cookie: JSESSIONID=%s; Path=/; HttpOnly", RedactionType.SESSION_COOKIE, r -> chars(r, UPPER + DIGITS, 32)),
            // the types that were there before
            new Template("mail me at %s please", RedactionType.EMAIL, r -> pick(r, WORDS).toLowerCase() + "." + chars(r, LOWER, 5) + "@example.org"),
            new Template("call %s after 5pm", RedactionType.PHONE, r -> "+44 20 7946 " + chars(r, DIGITS, 4)),
            new Template("my card %s was charged", RedactionType.CARD, r -> card(r, true)),
            new Template("refund to %s please", RedactionType.IBAN, r -> iban(r, true)),
            new Template("the server %s refused", RedactionType.IP_ADDRESS, r -> "203.0." + (1 + r.nextInt(250)) + "." + (1 + r.nextInt(250))),
            new Template("SSN %s on file", RedactionType.SSN, r -> (100 + r.nextInt(500)) + "-" + (10 + r.nextInt(89)) + "-" + (1000 + r.nextInt(8999))),
            new Template("DATABASE_URL=%s", RedactionType.URL_CREDENTIALS, r -> "postgres://svc:" + chars(r, ALNUM, 10) + "@db.example.com:5432/app"),
            new Template("aws_access_key_id=%s", RedactionType.AWS_ACCESS_KEY, r -> "AKIA" + chars(r, UPPER + "234567", 16)),
            new Template("aws_secret_access_key = %s", RedactionType.AWS_SECRET_KEY, r -> chars(r, ALNUM + "+/", 40)),
            new Template("token: %s", RedactionType.GITHUB_TOKEN, r -> "ghp_" + chars(r, ALNUM, 36)),
            new Template("webhook %s", RedactionType.SLACK_WEBHOOK,
                    r -> "https://hooks.slack.com/services/T" + chars(r, UPPER + DIGITS, 8) + "/B" + chars(r, UPPER + DIGITS, 8) + "/" + chars(r, ALNUM, 24)),
            new Template("slack %s", RedactionType.SLACK_TOKEN, r -> "xoxb-" + chars(r, DIGITS, 12) + "-" + chars(r, ALNUM, 24)),
            new Template("STRIPE=%s", RedactionType.STRIPE_KEY, r -> "sk_live_" + chars(r, ALNUM, 24)),
            new Template("maps key %s", RedactionType.GOOGLE_API_KEY, r -> "AIza" + chars(r, ALNUM + "_-", 35)),
            new Template("Authorization: Bearer %s", RedactionType.JWT,
                    r -> b64url("{\"alg\":\"HS256\"}") + "." + b64url("{\"sub\":\"" + r.nextInt(1_000_000) + "\"}") + "." + chars(r, ALNUM + "_-", 43)),
            new Template("key:\n%s\n", RedactionType.PRIVATE_KEY,
                    r -> "-----BEGIN RSA PRIVATE KEY-----\n" + chars(r, ALNUM + "+/", 64) + "\n" + chars(r, ALNUM + "+/", 40) + "\n-----END RSA PRIVATE KEY-----"));

    private static final List<Function<SplittableRandom, String>> LOOK_ALIKES = List.of(
            r -> "commit " + chars(r, "0123456789abcdef", 40),
            r -> "the token refresh fix is in " + chars(r, "0123456789abcdef", 12),
            r -> "request id " + chars(r, "0123456789abcdef", 8) + "-" + chars(r, "0123456789abcdef", 4) + "-4" + chars(r, "0123456789abcdef", 3) + "-a" + chars(r, "0123456789abcdef", 3) + "-" + chars(r, "0123456789abcdef", 12),
            r -> "the api key build ci-build-2024031" + r.nextInt(10) + "." + (1000 + r.nextInt(9000)),
            r -> "sha256:" + chars(r, "0123456789abcdef", 64),
            r -> "the key payload was " + Base64.getEncoder().encodeToString(("order " + r.nextInt(100000) + " shipped to the warehouse").getBytes(StandardCharsets.UTF_8)),
            r -> "the token is read by " + pick(r, new String[]{"TokenRefreshHandlerV2Impl", "getAccessTokenFromHeader", "SecretManagerClientFactory", "OAuth2TokenValidator"}),
            r -> "password_length=" + (8 + r.nextInt(20)),
            r -> "max_tokens: " + (64 << r.nextInt(5)),
            r -> "token_type: bearer",
            r -> "password: ${DB_PASSWORD}",
            r -> "password = getPassword();",
            r -> "api_key = os.environ[\"API_KEY\"]",
            r -> "password: <your-password>",
            r -> "secret: ****",
            r -> "the password is incorrect",
            r -> "password reset link sent on 2024-0" + (1 + r.nextInt(9)) + "-1" + r.nextInt(10),
            r -> "my password expired yesterday",
            r -> "pin the dependency to " + r.nextInt(10) + "." + r.nextInt(20) + "." + r.nextInt(10),
            r -> "session timeout: " + (5 + r.nextInt(55)) + "m",
            r -> "the password must have at least " + (8 + r.nextInt(8)) + " characters",
            r -> "version v" + r.nextInt(10) + "." + r.nextInt(30) + "." + r.nextInt(10),
            r -> "listening on localhost:" + (8000 + r.nextInt(1000)),
            r -> "order " + card(r, false),
            r -> "ref " + iban(r, false),
            r -> "at 2024-03-0" + (1 + r.nextInt(9)) + "T10:30:45Z",
            r -> "127.0.0.1",
            r -> "this.password = password;",
            r -> "Passwort vergessen? Bitte den Link nutzen.",
            r -> "le mot de passe est incorrect",
            r -> "la contraseña es incorrecta",
            r -> "use the reset link to log in",
            r -> "token: ${GITHUB_TOKEN}",
            r -> "cache_key=user:" + r.nextInt(1000),
            r -> "primary_key: id");

    private static final String[] OPENINGS = {
            "Hello support, after the upgrade our deploy fails.", "Hi team, the export job crashed again.",
            "Review: please do not commit credentials.", "Ticket: the dashboard shows a blank page.",
            "Hallo, der Export schlägt fehl.", "Bonjour, la synchronisation ne marche plus.", "Hola, el panel no carga.",
            "Nit: this config should come from the vault."};
    private static final String[] FILLERS = {
            "I tried restarting the service twice.", "It worked on staging last week.", "See the log below.",
            "The retry limit is set to 5.", "This happens on every deploy.", "Logs attached.",
            "Nothing changed on our side.", "Could you check the settings?"};
    private static final String[] CLOSINGS = {"Thanks!", "Regards, Ops.", "Danke.", "Merci.", "Gracias.", "LGTM otherwise."};

    /** Writes the corpus file kept in the repository and prints the report: {@code LabeledCorpus [OUT.jsonl.gz]}. */
    public static void main(String[] args) throws Exception {
        List<Sample> samples = generate(SEED, SIZE);
        if (args.length > 0) {
            try (var out = new java.util.zip.GZIPOutputStream(java.nio.file.Files.newOutputStream(java.nio.file.Path.of(args[0])))) {
                out.write(toJsonLines(samples).getBytes(StandardCharsets.UTF_8));
            }
        }
        System.out.print(measure(new Redactor(), samples));
    }

    /** The seed and size of the corpus kept in the repository (redact/src/test/resources/labeled-corpus.jsonl.gz). */
    public static final long SEED = 20240601;
    public static final int SIZE = 2600;
}
