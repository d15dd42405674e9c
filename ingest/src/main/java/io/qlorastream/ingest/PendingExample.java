package io.qlorastream.ingest;

import io.qlorastream.redact.RedactionType;

import java.util.Map;

/** One example between the format, redact and route steps; {@code counts} is empty until redacted. */
public record PendingExample(SourceEvent event, ExampleDraft draft, Map<RedactionType, Integer> counts) {
}
