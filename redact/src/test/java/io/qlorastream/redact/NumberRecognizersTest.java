package io.qlorastream.redact;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.stream.Stream;

import static io.qlorastream.redact.RedactionType.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

class NumberRecognizersTest {

    static Stream<Arguments> positives() {
        return Stream.of(
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
                arguments("123-45-6789", SSN));
    }

    @ParameterizedTest(name = "{1}: {0}")
    @MethodSource("positives")
    void eachRecognizerFindsItsValue(String value, RedactionType type) {
        RedactorAssertions.assertFindsAlone(value, type);
    }

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
            // order numbers and ids failing Luhn, card-length numbers of no network
            "order 4111 1111 1111 1112", "Order #4111111111111112", "1234 5678 9012 3456", "ref 7000000000000000",
            // IBAN failing mod-97, phones and SSNs of the wrong shape
            "DE89 3704 0044 0532 0130 01", "GB00 WEST 1234 5698 7654 32", "000-12-3456", "666-12-3456", "123-00-4567",
            "123-45-67890", "call 12345", "+1", "x = 3 + 4", "score +12", "ids 555-1234",
    })
    void lookAlikesSurvive(String text) {
        RedactorAssertions.assertSurvives(text);
    }

    @Test
    void theCheckDigitsTellRealNumbersFromLookAlikes() {
        char[] card = "4111111111111111".toCharArray();
        char[] notCard = "4111111111111112".toCharArray();
        assertThat(Checksums.luhn(card, 16) && Checksums.isCardPrefix(card, 16)).isTrue();
        assertThat(Checksums.luhn(notCard, 16)).isFalse();
        assertThat(Checksums.isCardPrefix("7000000000000000".toCharArray(), 16)).isFalse();
        assertThat(Checksums.ibanValid("DE89370400440532013000".toCharArray(), 22)).isTrue();
        assertThat(Checksums.ibanValid("DE89370400440532013001".toCharArray(), 22)).isFalse();
        assertThat(Checksums.ibanValid("DE89".toCharArray(), 4)).isFalse();
    }
}
