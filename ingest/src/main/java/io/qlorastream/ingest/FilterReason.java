package io.qlorastream.ingest;

import java.util.Locale;

/** Why an event (or one example of it) was left out on purpose; each is counted. */
public enum FilterReason {
    NOT_RESOLVED,
    LOW_SATISFACTION,
    NOT_ACCEPTED,
    BOT,
    LANGUAGE,
    NO_RESPONSE,
    TOO_SHORT,
    TOO_LONG,
    DUPLICATE;

    private final String metricName = name().toLowerCase(Locale.ROOT);

    /** The metric / log name: not_resolved, low_satisfaction, ... */
    public String metricName() {
        return metricName;
    }
}
