package io.qlorastream.redact;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Map;
import java.util.stream.Stream;

import static io.qlorastream.redact.RedactionType.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

class SecretRecognizersTest {
    private final Redactor redactor = new Redactor();

    static final String GITHUB_PAT = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5";
    static final String JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
            + ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
            + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    static final String PEM = "-----BEGIN RSA PRIVATE KEY-----\n"
            + "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
            + "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
            + "-----END RSA PRIVATE KEY-----";

    static Stream<Arguments> positives() {
        return Stream.of(
                arguments("AKIAIOSFODNN7EXAMPLE", AWS_ACCESS_KEY),
                arguments("ASIAY34FZKBOKMUTVV7A", AWS_ACCESS_KEY),
                arguments(GITHUB_PAT, GITHUB_TOKEN),
                arguments("gho_16C7e42F292c6912E7710c838347Ae178B4a", GITHUB_TOKEN),
                arguments("ghs_16C7e42F292c6912E7710c838347Ae178B4a", GITHUB_TOKEN),
                arguments("ghu_16C7e42F292c6912E7710c838347Ae178B4a", GITHUB_TOKEN),
                arguments("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345678901", GITHUB_TOKEN),
                arguments("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", SLACK_TOKEN),
                arguments("xoxp-123456789012-123456789012-123456789012-abcdef0123456789abcdef0123456789", SLACK_TOKEN),
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
        RedactorAssertions.assertFindsAlone(value, type);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            // code
            "a == b", "x += 1", "password = readPassword();",
            "this.password = password;", "token = self.token", "def f(token=token):", "password: string",
            "api_key = os.environ[\"API_KEY\"]", "token: ${GITHUB_TOKEN}", "password=<REDACTED>", "secret: ****",
            "tokenizer: bpe", "max_tokens: 512",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", "-----BEGIN PUBLIC KEY-----",
            // tokens too short or of the wrong prefix
            "ghp_short", "AKIA1234", "sk_live_short", "xoxb-123", "eyJhbGciOi", "the bearer of bad news",
            "bearer authentication", "AIzaShort",
    })
    void lookAlikesSurvive(String text) {
        RedactorAssertions.assertSurvives(text);
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
        assertThat(redactor.redact("password=hunter2 and more").text()).isEqualTo("password=<PASSWORD_1> and more");
        assertThat(redactor.redact("{\"api_key\": \"abcd-1234-efgh\", \"user\": \"x\"}").text())
                .isEqualTo("{\"api_key\": \"<SECRET_1>\", \"user\": \"x\"}");
        assertThat(redactor.redact("DB_PASSWORD: letmein99\n").text()).isEqualTo("DB_PASSWORD: <PASSWORD_1>\n");
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
}
