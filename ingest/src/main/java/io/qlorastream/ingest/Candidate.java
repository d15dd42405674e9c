package io.qlorastream.ingest;

import io.qlorastream.events.CodeReview;
import io.qlorastream.events.SourceCoordinates;
import io.qlorastream.events.SupportTicket;
import org.apache.avro.specific.SpecificRecord;

/**
 * A valid event between the topology's steps, with where it came from: a {@link SupportTicket} or a
 * {@link CodeReview}, and the bytes it was decoded from (Confluent wire format), which the repartition topic carries
 * as they are instead of encoding the event again. {@code wire} is null only for a candidate read back from the
 * repartition topic's earlier layout (see {@link CandidateSerde}); nothing past the repartition writes one again.
 */
public record Candidate(SpecificRecord event, SourceCoordinates source, byte[] wire) {
    public Candidate {
        if (!(event instanceof SupportTicket) && !(event instanceof CodeReview)) {
            throw new IllegalArgumentException("not a ticket or review: " + (event == null ? "null" : event.getClass().getName()));
        }
    }

    public String contentHash() {
        return event instanceof SupportTicket t ? ContentHash.of(t) : ContentHash.of((CodeReview) event);
    }
}
