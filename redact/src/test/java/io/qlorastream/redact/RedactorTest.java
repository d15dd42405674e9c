package io.qlorastream.redact;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static io.qlorastream.redact.RedactionType.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.params.provider.Arguments.arguments;

class RedactorTest {
    private final Redactor redactor = new Redactor();

    static final String GITHUB_PAT = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5";
    static final String JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
            + ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
            + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    static final String PEM = "-----BEGIN RSA PRIVATE KEY-----\n"
            + "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
            + "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
            + "-----END RSA PRIVATE KEY-----";

    /** Each recognizer alone: the value between two words becomes its placeholder, and nothing else changes. */
    static Stream<Arguments> positives() {
        return Stream.of(
                arguments("jane.doe+tickets@example.co.uk", EMAIL),
                arguments("J.O'Neil_1@mail.example.com".replace("'", ""), EMAIL),
                arguments("+44 20 7946 0958", PHONE),
                arguments("+1-555-123-4567", PHONE),
                arguments("+49 (0)30 1234567", PHONE),
                arguments("+33 6 12 34 56 78", PHONE),
                arguments("+15551234567", PHONE),
                arguments("(555) 123-4567", PHONE),
                arguments("555-123-4567", PHONE),
                arguments("555.123.4567", PHONE),
                arguments("1-800-555-0199", PHONE),
                arguments("020 7946 0958", PHONE),
                arguments("06 12 34 56 78", PHONE),
                arguments("030/1234567", PHONE),
                arguments("4111 1111 1111 1111", CARD),
                arguments("4111-1111-1111-1111", CARD),
                arguments("4111111111111111", CARD),
                arguments("5500 0000 0000 0004", CARD),
                arguments("3782 822463 10005", CARD),
                arguments("6011111111111117", CARD),
                arguments("DE89 3704 0044 0532 0130 00", IBAN),
                arguments("DE89370400440532013000", IBAN),
                arguments("GB82 WEST 1234 5698 7654 32", IBAN),
                arguments("FR14 2004 1010 0505 0001 3M02 606", IBAN),
                arguments("192.168.1.20", IP_ADDRESS),
                arguments("8.8.8.8", IP_ADDRESS),
                arguments("2001:db8:85a3::8a2e:370:7334", IP_ADDRESS),
                arguments("2001:0db8:85a3:0000:0000:8a2e:0370:7334", IP_ADDRESS),
                arguments("fe80::1", IP_ADDRESS),
                arguments("::ffff:192.0.2.128", IP_ADDRESS),
                arguments("123-45-6789", SSN),
                arguments("https://admin:s3cr3t@db.example.com:5432/prod", URL_CREDENTIALS),
                arguments("postgres://app:hunter2@10.0.0.5/orders", URL_CREDENTIALS),
                arguments("https://x-access-token:ghs_abc@github.com/org/repo.git", URL_CREDENTIALS),
                arguments("AKIAIOSFODNN7EXAMPLE", AWS_ACCESS_KEY),
                arguments("ASIAY34FZKBOKMUTVV7A", AWS_ACCESS_KEY),
                arguments(GITHUB_PAT, GITHUB_TOKEN),
                arguments("gho_16C7e42F292c6912E7710c838347Ae178B4a", GITHUB_TOKEN),
                arguments("ghs_16C7e42F292c6912E7710c838347Ae178B4a", GITHUB_TOKEN),
                arguments("ghu_16C7e42F292c6912E7710c838347Ae178B4a", GITHUB_TOKEN),
                arguments("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345678901", GITHUB_TOKEN),
                arguments("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", SLACK_TOKEN),
                arguments("xoxp-123456789012-123456789012-123456789012-abcdef0123456789abcdef0123456789", SLACK_TOKEN),
                arguments("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", SLACK_WEBHOOK),
                arguments("sk_live_4eC39HqLyjWDarjtT1zdp7dc", STRIPE_KEY),
                arguments("rk_test_51H8aBcDeFgHiJkLmNoPqRsT", STRIPE_KEY),
                arguments("AIzaSyA-1234567890abcdefghijklmnopqrstu", GOOGLE_API_KEY),
                arguments(JWT, RedactionType.JWT),
                arguments(PEM, PRIVATE_KEY),
                arguments("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----", PRIVATE_KEY));
    }

    @ParameterizedTest(name = "{1}: {0}")
    @MethodSource("positives")
    void eachRecognizerFindsItsValue(String value, RedactionType type) {
        RedactionResult r = redactor.redact("before " + value + " after.");
        assertThat(r.text()).isEqualTo("before " + type.placeholder(1) + " after.");
        assertThat(r.counts()).containsExactly(Map.entry(type, 1));
    }

    /** Look-alikes that are not personal, and near misses of each recognizer: left exactly as they are. */
    @ParameterizedTest
    @ValueSource(strings = {
            // UUIDs, git SHAs, hashes
            "550e8400-e29b-41d4-a716-446655440000", "123e4567-e89b-12d3-a456-426614174000",
            "a1b2c3d", "3f9c2e1", "1234567", "9fceb02d0ae598e95dc970b74767f19372d61af8",
            "commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904 merged",
            // versions
            "1.2.3", "v10.0.1", "version 2.14.1-rc.2", "Java 17.0.9", "1.2.3-SNAPSHOT",
            // dates, times, durations
            "2024-01-15", "2024-01-15T10:30:45Z", "2024-01-15 10:30:45.123+01:00", "15/01/2024", "01.02.2024",
            "10:30:45", "1700000000000", "1700000000", "took 1234567890 ns",
            // ports and hosts
            "localhost:8080", "http://localhost:8080/health", "ssh://git@github.com/org/repo.git", "0.0.0.0:9092 and :8080", "127.0.0.1:8080", "[::1]:8080",
            // order numbers and ids failing Luhn, card-length numbers of no network
            "order 4111 1111 1111 1112", "Order #4111111111111112", "1234 5678 9012 3456", "ref 7000000000000000",
            // IBAN failing mod-97, phones and SSNs of the wrong shape
            "DE89 3704 0044 0532 0130 01", "GB00 WEST 1234 5698 7654 32", "000-12-3456", "666-12-3456", "123-00-4567",
            "123-45-67890", "call 12345", "+1", "x = 3 + 4", "score +12", "ids 555-1234",
            // IPs that are versions or out of range
            "1.2.3.4.5", "256.1.1.1", "999.168.1.1",
            // code
            "std::vector<int> v;", "Foo::bar()", "a == b", "x += 1", "password = readPassword();",
            "this.password = password;", "token = self.token", "def f(token=token):", "password: string",
            "api_key = os.environ[\"API_KEY\"]", "token: ${GITHUB_TOKEN}", "password=<REDACTED>", "secret: ****",
            "tokenizer: bpe", "max_tokens: 512", "@Override public void run()", "user@localhost",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", "-----BEGIN PUBLIC KEY-----",
            // tokens too short or of the wrong prefix
            "ghp_short", "AKIA1234", "sk_live_short", "xoxb-123", "eyJhbGciOi", "the bearer of bad news",
            "bearer authentication", "AIzaShort",
            // MAC address, not in scope
            "00:1a:2b:3c:4d:5e",
    })
    void lookAlikesSurvive(String text) {
        RedactionResult r = redactor.redact(text);
        assertThat(r.text()).isEqualTo(text);
        assertThat(r.counts()).isEmpty();
    }

    @Test
    void theSameValueKeepsItsNumberAndANewValueGetsTheNext() {
        RedactionResult r = redactor.redact(
                "From jane@example.com to bob@example.com, cc JANE@example.com; call +44 20 7946 0958 or +44 20 7946 0958.");
        assertThat(r.text()).isEqualTo("From <EMAIL_1> to <EMAIL_2>, cc <EMAIL_1>; call <PHONE_1> or <PHONE_1>.");
        assertThat(r.counts()).containsExactly(Map.entry(EMAIL, 3), Map.entry(PHONE, 2));
        assertThat(r.total()).isEqualTo(5);
    }

    @Test
    void numbersRestartForEachCall() {
        assertThat(redactor.redact("a@example.com").text()).isEqualTo("<EMAIL_1>");
        assertThat(redactor.redact("b@example.com").text()).isEqualTo("<EMAIL_1>");
    }

    @Test
    void aUrlWithCredentialsBeatsTheEmailInsideIt() {
        RedactionResult r = redactor.redact("clone https://bob@example.com:pw@git.example.com/x.git then");
        assertThat(r.text()).isEqualTo("clone <URL_CREDENTIALS_1> then");
        assertThat(r.counts()).containsExactly(Map.entry(URL_CREDENTIALS, 1));
    }

    @Test
    void aPemBlockBeatsEverythingInIt() {
        String body = "-----BEGIN PRIVATE KEY-----\nMIIE jane@example.com AKIAIOSFODNN7EXAMPLE 4111111111111111\n-----END PRIVATE KEY-----";
        RedactionResult r = redactor.redact("key:\n" + body + "\nthanks jane@example.com");
        assertThat(r.text()).isEqualTo("key:\n<PRIVATE_KEY_1>\nthanks <EMAIL_1>");
        assertThat(r.counts()).containsExactly(Map.entry(PRIVATE_KEY, 1), Map.entry(EMAIL, 1));
    }

    @Test
    void aTruncatedPemBlockIsRedactedToTheEnd() {
        RedactionResult r = redactor.redact("here: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBk9");
        assertThat(r.text()).isEqualTo("here: <PRIVATE_KEY_1>");
    }

    @Test
    void assignmentsKeepTheKeyAndRedactTheValue() {
        assertThat(redactor.redact("password=hunter2 and more").text()).isEqualTo("password=<SECRET_1> and more");
        assertThat(redactor.redact("{\"api_key\": \"abcd-1234-efgh\", \"user\": \"x\"}").text())
                .isEqualTo("{\"api_key\": \"<SECRET_1>\", \"user\": \"x\"}");
        assertThat(redactor.redact("DB_PASSWORD: letmein99\n").text()).isEqualTo("DB_PASSWORD: <SECRET_1>\n");
        assertThat(redactor.redact("GET /v1?token=a1b2c3d4e5&page=2").text()).isEqualTo("GET /v1?token=<SECRET_1>&page=2");
        assertThat(redactor.redact("String secret = \"s3cr3t-value\";").text()).isEqualTo("String secret = \"<SECRET_1>\";");
        assertThat(redactor.redact("Authorization: Basic dXNlcjpwYXNzd29yZA==").text())
                .isEqualTo("Authorization: Basic <SECRET_1>");
    }

    @Test
    void anAwsSecretKeyInAnAssignmentIsTypedAsOne() {
        RedactionResult r = redactor.redact("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\naws_access_key_id=AKIAIOSFODNN7EXAMPLE");
        assertThat(r.text()).isEqualTo("aws_secret_access_key = <AWS_SECRET_KEY_1>\naws_access_key_id=<AWS_ACCESS_KEY_1>");
    }

    @Test
    void aTokenInAnAssignmentGetsItsOwnTypeNotTheGenericOne() {
        RedactionResult r = redactor.redact("GITHUB_TOKEN=" + GITHUB_PAT);
        assertThat(r.text()).isEqualTo("GITHUB_TOKEN=<GITHUB_TOKEN_1>");
        assertThat(r.counts()).containsExactly(Map.entry(GITHUB_TOKEN, 1));
    }

    @Test
    void bearerTokensKeepTheScheme() {
        assertThat(redactor.redact("curl -H 'Authorization: Bearer abc123.def456-ghi' x").text())
                .isEqualTo("curl -H 'Authorization: Bearer <BEARER_TOKEN_1>' x");
        assertThat(redactor.redact("Authorization: Bearer " + JWT).text()).isEqualTo("Authorization: Bearer <JWT_1>");
    }

    @Test
    void ipsKeepTheirPort() {
        assertThat(redactor.redact("connect to 10.0.0.12:5432 failed").text()).isEqualTo("connect to <IP_ADDRESS_1>:5432 failed");
        assertThat(redactor.redact("fe80::1%eth0 and 10.0.0.12").text()).isEqualTo("<IP_ADDRESS_1>%eth0 and <IP_ADDRESS_2>");
    }

    @Test
    void knownValuesAreRedactedWhereverTheyRecurCaseInsensitiveWholeWord() {
        List<KnownValue> known = List.of(KnownValue.name("Jane Doe"), KnownValue.accountId("ACC-004217"),
                KnownValue.email("jane@example.com"));
        RedactionResult r = redactor.redact(
                "Hi, I'm jane doe (account acc-004217). Jane here again; Janet and ACC-0042170 are other people. "
                        + "Write to JANE@EXAMPLE.COM or jane@example.com.", known);
        assertThat(r.text()).isEqualTo("Hi, I'm <NAME_1> (account <ACCOUNT_ID_1>). <NAME_1> here again; Janet and ACC-0042170 "
                + "are other people. Write to <EMAIL_1> or <EMAIL_1>.");
        assertThat(r.counts()).containsExactly(Map.entry(EMAIL, 2), Map.entry(ACCOUNT_ID, 1), Map.entry(NAME, 2));
    }

    @Test
    void knownValuesWorkWithUnicode() {
        RedactionResult r = redactor.redact("Merci, ÉLODIE MÜLLER! Élodie Müller a écrit; Élodies non.",
                List.of(KnownValue.name("Élodie Müller")));
        assertThat(r.text()).isEqualTo("Merci, <NAME_1>! <NAME_1> a écrit; Élodies non.");
    }

    @Test
    void aPolicyCanKeepTypes() {
        Redactor noIps = new Redactor(EnumSet.complementOf(EnumSet.of(IP_ADDRESS)));
        assertThat(noIps.redact("host 10.0.0.1 mail a@example.com").text()).isEqualTo("host 10.0.0.1 mail <EMAIL_1>");
    }

    @Test
    void aMixedTicketIsCleanedAndTheLookAlikesStay() {
        String ticket = """
                Hi team, I'm Jane (jane.doe@acme.io, +1 (555) 010-9999 isn't mine, mine is +1-555-867-5309).
                After upgrading to v2.14.1 on 2024-03-05 at 10:30:45 the app on localhost:8080 crashed, request id
                550e8400-e29b-41d4-a716-446655440000, commit 9fceb02. My card 4242 4242 4242 4242 was charged twice
                for order 4242 4242 4242 4241. Refund to IBAN GB82 WEST 1234 5698 7654 32 please.
                Config: DATABASE_URL=postgres://svc:Pa55w0rd@10.1.2.3:5432/app and STRIPE=sk_live_4eC39HqLyjWDarjtT1zdp7dc
                Log: client 203.0.113.7 token=ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5 ssn 078-05-1120.
                """;
        RedactionResult r = redactor.redact(ticket);
        assertThat(r.text()).isEqualTo("""
                Hi team, I'm Jane (<EMAIL_1>, <PHONE_1> isn't mine, mine is <PHONE_2>).
                After upgrading to v2.14.1 on 2024-03-05 at 10:30:45 the app on localhost:8080 crashed, request id
                550e8400-e29b-41d4-a716-446655440000, commit 9fceb02. My card <CARD_1> was charged twice
                for order 4242 4242 4242 4241. Refund to IBAN <IBAN_1> please.
                Config: DATABASE_URL=<URL_CREDENTIALS_1> and STRIPE=<STRIPE_KEY_1>
                Log: client <IP_ADDRESS_1> token=<GITHUB_TOKEN_1> ssn <SSN_1>.
                """);
        assertThat(r.counts()).containsExactly(Map.entry(URL_CREDENTIALS, 1), Map.entry(GITHUB_TOKEN, 1),
                Map.entry(STRIPE_KEY, 1), Map.entry(EMAIL, 1), Map.entry(IBAN, 1), Map.entry(CARD, 1),
                Map.entry(SSN, 1), Map.entry(PHONE, 2), Map.entry(IP_ADDRESS, 1));
    }

    @Test
    void ordinaryCodeIsLeftAlone() {
        String code = """
                public Map<String, Integer> count(List<String> tokens) {
                    var password = config.get("db.password");
                    if (token == null || tokens.size() > 512) return Map.of();
                    String url = "http://localhost:8080/api/v1/items?id=" + id;
                    int[] sizes = {1, 2, 3};
                    double ratio = 0.75e-3 * 1024;
                    log.info("took {} ms at {}", 1234, Instant.parse("2024-01-15T10:30:45Z"));
                    return IntStream.range(0, 16).boxed().collect(toMap(i -> "k" + i, i -> i));
                }
                """;
        RedactionResult r = redactor.redact(code);
        assertThat(r.text()).isEqualTo(code);
    }

    @Test
    void pathologicalInputsAreRedactedConsistentlyWithoutBacktracking() {
        // 10 MB bodies of the shapes that make naive patterns backtrack: no spaces, repeated triggers. Catastrophic
        // backtracking would not finish at all; the preemptive limit only turns such a hang into a failure (it is
        // no speed target: linear work takes about a second here).
        String[] shapes = {"a", "1", "a@", "@a.", "1.", "1-", "+1 ", "://", "=a", "eyJ", "AKIA", "-----BEGIN ", ":", "ab:"};
        for (String shape : shapes) {
            String big = shape.repeat(10_000_000 / shape.length());
            RedactionResult r = assertTimeoutPreemptively(Duration.ofSeconds(120), () -> redactor.redact(big),
                    "redacting 10 MB of '" + shape + "' did not finish");
            if (r.total() == 0) {
                assertThat(r.text()).as(shape).isEqualTo(big);
            } else {
                // whatever was found is replaced by its typed placeholder, and the text shrank by what was removed
                r.counts().forEach((type, n) -> assertThat(r.text()).as(shape).contains(type.placeholder(1)));
                assertThat(r.text().length()).as(shape).isNotEqualTo(big.length());
            }
        }
    }

    @Test
    void emptyAndPlainTextsComeBackUnchanged() {
        assertThat(redactor.redact("").text()).isEmpty();
        String plain = "Nothing to see here, just words and 42 numbers.";
        assertThat(redactor.redact(plain).text()).isSameAs(plain);
    }
}
