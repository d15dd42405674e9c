package io.qlorastream.ingest;

import io.qlorastream.events.SourceKind;

/** A formatted, not yet redacted example: what {@link ExampleFormatter} makes of one agent reply or one review. */
public record ExampleDraft(String exampleId, SourceKind sourceKind, String sourceId, String prompt, String response) {
}
