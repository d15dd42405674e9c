package io.qlorastream.ingest;

import io.qlorastream.events.CodeReview;
import io.qlorastream.events.SourceCoordinates;
import io.qlorastream.events.SupportTicket;
import org.apache.avro.specific.SpecificRecord;

/** A valid event between the topology's steps, with where it came from: a {@link SupportTicket} or a {@link CodeReview}. */
public record Candidate(SpecificRecord event, SourceCoordinates source) {
    public Candidate {
        if (!(event instanceof SupportTicket) && !(event instanceof CodeReview)) {
            throw new IllegalArgumentException("not a ticket or review: " + event.getClass().getName());
        }
    }

    public String contentHash() {
        return event instanceof SupportTicket t ? ContentHash.of(t) : ContentHash.of((CodeReview) event);
    }
}
