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

class NetworkRecognizersTest {
    private final Redactor redactor = new Redactor();

    static Stream<Arguments> positives() {
        return Stream.of(
                arguments("jane.doe+tickets@example.co.uk", EMAIL),
                arguments("J.O'Neil_1@mail.example.com".replace("'", ""), EMAIL),
                arguments("192.168.1.20", IP_ADDRESS),
                arguments("8.8.8.8", IP_ADDRESS),
                arguments("2001:db8:85a3::8a2e:370:7334", IP_ADDRESS),
                arguments("2001:0db8:85a3:0000:0000:8a2e:0370:7334", IP_ADDRESS),
                arguments("fe80::1", IP_ADDRESS),
                arguments("::ffff:192.0.2.128", IP_ADDRESS),
                arguments("https://admin:s3cr3t@db.example.com:5432/prod", URL_CREDENTIALS),
                arguments("postgres://app:hunter2@10.0.0.5/orders", URL_CREDENTIALS),
                arguments("https://x-access-token:ghs_abc@github.com/org/repo.git", URL_CREDENTIALS),
                arguments("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", SLACK_WEBHOOK));
    }

    @ParameterizedTest(name = "{1}: {0}")
    @MethodSource("positives")
    void eachRecognizerFindsItsValue(String value, RedactionType type) {
        RedactorAssertions.assertFindsAlone(value, type);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            // ports and hosts
            "localhost:8080", "http://localhost:8080/health", "ssh://git@github.com/org/repo.git", "0.0.0.0:9092 and :8080", "127.0.0.1:8080", "[::1]:8080",
            // IPs that are versions or out of range
            "1.2.3.4.5", "256.1.1.1", "999.168.1.1",
            // code
            "std::vector<int> v;", "Foo::bar()", "@Override public void run()", "user@localhost",
            // MAC address, not in scope
            "00:1a:2b:3c:4d:5e",
    })
    void lookAlikesSurvive(String text) {
        RedactorAssertions.assertSurvives(text);
    }

    @Test
    void aUrlWithCredentialsBeatsTheEmailInsideIt() {
        RedactionResult r = redactor.redact("clone https://bob@example.com:pw@git.example.com/x.git then");
        assertThat(r.text()).isEqualTo("clone <URL_CREDENTIALS_1> then");
        assertThat(r.counts()).containsExactly(Map.entry(URL_CREDENTIALS, 1));
    }

    @Test
    void ipsKeepTheirPort() {
        assertThat(redactor.redact("connect to 10.0.0.12:5432 failed").text()).isEqualTo("connect to <IP_ADDRESS_1>:5432 failed");
        assertThat(redactor.redact("fe80::1%eth0 and 10.0.0.12").text()).isEqualTo("<IP_ADDRESS_1>%eth0 and <IP_ADDRESS_2>");
    }
}
