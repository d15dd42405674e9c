package io.qlorastream.ingest;

import io.qlorastream.events.CodeReview;
import io.qlorastream.events.SourceCoordinates;
import io.qlorastream.events.SupportTicket;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;

/**
 * The internal repartition topic's value (dedupe by content hash needs equal content on one partition): one kind
 * byte (T ticket, R review), the source coordinates, then the event, all plain Avro binary with the schemas compiled
 * into this build (no registry: the topic is ingest's own and short-lived; drain it before an upgrade that changes
 * the event schemas).
 */
public final class CandidateSerde implements Serde<Candidate> {
    private static final byte TICKET = 'T';
    private static final byte REVIEW = 'R';

    private final SpecificDatumWriter<SourceCoordinates> coordinatesWriter = new SpecificDatumWriter<>(SourceCoordinates.class);
    private final SpecificDatumWriter<SupportTicket> ticketWriter = new SpecificDatumWriter<>(SupportTicket.class);
    private final SpecificDatumWriter<CodeReview> reviewWriter = new SpecificDatumWriter<>(CodeReview.class);
    private final SpecificDatumReader<SourceCoordinates> coordinatesReader = new SpecificDatumReader<>(SourceCoordinates.class);
    private final SpecificDatumReader<SupportTicket> ticketReader = new SpecificDatumReader<>(SupportTicket.class);
    private final SpecificDatumReader<CodeReview> reviewReader = new SpecificDatumReader<>(CodeReview.class);

    @Override
    public Serializer<Candidate> serializer() {
        return (topic, c) -> {
            if (c == null) {
                return null;
            }
            try {
                ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
                BinaryEncoder e = EncoderFactory.get().directBinaryEncoder(out, null);
                SpecificRecord event = c.event();
                synchronized (this) {
                    if (event instanceof SupportTicket t) {
                        out.write(TICKET);
                        coordinatesWriter.write(c.source(), e);
                        ticketWriter.write(t, e);
                    } else {
                        out.write(REVIEW);
                        coordinatesWriter.write(c.source(), e);
                        reviewWriter.write((CodeReview) event, e);
                    }
                }
                e.flush();
                return out.toByteArray();
            } catch (IOException ex) {
                throw new SerializationException("cannot encode candidate for " + topic + ": " + ex.getMessage(), ex);
            }
        };
    }

    @Override
    public Deserializer<Candidate> deserializer() {
        return (topic, bytes) -> {
            if (bytes == null) {
                return null;
            }
            try {
                BinaryDecoder d = DecoderFactory.get().binaryDecoder(bytes, 1, bytes.length - 1, null);
                synchronized (this) {
                    SourceCoordinates source = coordinatesReader.read(null, d);
                    return switch (bytes[0]) {
                        case TICKET -> new Candidate(ticketReader.read(null, d), source);
                        case REVIEW -> new Candidate(reviewReader.read(null, d), source);
                        default -> throw new SerializationException("unknown candidate kind byte " + bytes[0] + " on " + topic);
                    };
                }
            } catch (IOException ex) {
                throw new SerializationException("cannot decode candidate from " + topic + ": " + ex.getMessage(), ex);
            }
        };
    }
}
