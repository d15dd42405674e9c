package io.qlorastream.redact;

/**
 * What a redacted span was. The placeholder is {@code <NAME_n>}, e.g. {@code <EMAIL_1>}.
 * When two matches overlap the longer wins; on equal length the lower {@link #specificity} wins
 * (the declaration order below, most specific first).
 */
public enum RedactionType {
    PRIVATE_KEY,
    URL_CREDENTIALS,
    SLACK_WEBHOOK,
    JWT,
    AWS_ACCESS_KEY,
    AWS_SECRET_KEY,
    GITHUB_TOKEN,
    SLACK_TOKEN,
    STRIPE_KEY,
    GOOGLE_API_KEY,
    BEARER_TOKEN,
    PASSWORD,
    PIN,
    SESSION_COOKIE,
    SECRET,
    EMAIL,
    ACCOUNT_ID,
    NAME,
    IBAN,
    CARD,
    SSN,
    PHONE,
    IP_ADDRESS;

    /** Lower is more specific: the tie-breaker between overlapping matches of equal length. */
    public int specificity() {
        return ordinal();
    }

    /** The placeholder for the n-th distinct value of this type in one text (n from 1). */
    public String placeholder(int n) {
        return "<" + name() + "_" + n + ">";
    }
}
