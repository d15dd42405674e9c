package io.qlorastream.redact;

import java.util.Objects;

/**
 * A value the caller already knows is personal (from an event's structured fields: the customer's name,
 * email, account id), to be redacted wherever it recurs in free text: case-insensitive, whole words only.
 * For {@link RedactionType#NAME} each part of the name of 3+ letters is also redacted where it appears
 * capitalized as given ("Jane" of "Jane Doe", not "jane"), under the same placeholder as the full name.
 */
public record KnownValue(RedactionType type, String value) {
    public KnownValue {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value");
    }

    public static KnownValue name(String name) {
        return new KnownValue(RedactionType.NAME, name);
    }

    public static KnownValue email(String email) {
        return new KnownValue(RedactionType.EMAIL, email);
    }

    public static KnownValue accountId(String accountId) {
        return new KnownValue(RedactionType.ACCOUNT_ID, accountId);
    }
}
