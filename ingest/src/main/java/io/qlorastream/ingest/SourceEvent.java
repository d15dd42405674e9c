package io.qlorastream.ingest;

import io.qlorastream.events.SourceCoordinates;
import io.qlorastream.redact.KnownValue;
import org.apache.avro.specific.SpecificRecord;

import java.util.List;
import java.util.Optional;

/**
 * An input event between the topology's steps: the Avro event, where it lies in Kafka, and the bytes it was decoded
 * from (Confluent wire format), which the repartition topic carries as they are instead of encoding the event again.
 * Each kind of source answers what the steps ask of it, so the topology never asks which kind it holds; the answers
 * are pure functions of the event and the settings. {@code wire} is null for an event not read from its input topic
 * (read back from the repartition topic's earlier layout, see {@link SourceEventSerde}, or built in memory); nothing
 * past the repartition writes one again.
 */
public sealed interface SourceEvent permits TicketSource, ReviewSource {
    SpecificRecord event();

    SourceCoordinates source();

    byte[] wire();

    /** Its kind byte on the repartition topic ({@link SourceEventSerde}). */
    byte kind();

    /** The first reason it is unfit to process, naming the field ({@link Validation}), or empty. */
    Optional<String> problem(IngestConfig c);

    /** Why it is left out on purpose: its kind's filter rules in their fixed order, the first that matches. */
    Optional<FilterReason> filterReason(IngestConfig c);

    /** The dedupe key ({@link ContentHash}). */
    String contentHash();

    /** Its examples before redaction and the per-example length filter ({@link ExampleFormatter}). */
    List<ExampleDraft> drafts(IngestConfig c);

    /** The values its own fields identify, redacted wherever they recur in its examples. */
    List<KnownValue> knownValues();

    /** The adapter its examples train ({@link Router}). */
    String adapter(IngestConfig c);
}
