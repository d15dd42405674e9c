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
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The internal repartition topic's value (dedupe by content hash needs equal content on one partition): one kind
 * byte (T ticket, R review), the length of the source coordinates (4 bytes, big-endian), the coordinates in plain
 * Avro binary, then the event's bytes exactly as they came from the input topic (Confluent wire format, naming the writer's schema id). Carrying the input's bytes
 * costs a copy where encoding the event again cost about a tenth of the ingest stream thread, and the event is
 * decoded on the other side like any input: by the writer's schema from the registry, so records written before an
 * upgrade that changes the event schemas still read.
 */
public final class CandidateSerde implements Serde<Candidate> {
    private static final byte TICKET = 'T';
    private static final byte REVIEW = 'R';

    private final Deserializer<SupportTicket> tickets;
    private final Deserializer<CodeReview> reviews;
    private final SpecificDatumWriter<SourceCoordinates> coordinatesWriter = new SpecificDatumWriter<>(SourceCoordinates.class);
    private final SpecificDatumReader<SourceCoordinates> coordinatesReader = new SpecificDatumReader<>(SourceCoordinates.class);

    /** {@code tickets} and {@code reviews}: the input topics' (configured) value deserializers. */
    public CandidateSerde(Deserializer<SupportTicket> tickets, Deserializer<CodeReview> reviews) {
        this.tickets = tickets;
        this.reviews = reviews;
    }

    @Override
    public Serializer<Candidate> serializer() {
        return (topic, c) -> {
            if (c == null) {
                return null;
            }
            try {
                ByteArrayOutputStream coordinates = new ByteArrayOutputStream(64);
                BinaryEncoder e = EncoderFactory.get().directBinaryEncoder(coordinates, null);
                synchronized (this) {
                    coordinatesWriter.write(c.source(), e);
                }
                e.flush();
                return ByteBuffer.allocate(5 + coordinates.size() + c.wire().length)
                        .put(c.event() instanceof SupportTicket ? TICKET : REVIEW)
                        .putInt(coordinates.size())
                        .put(coordinates.toByteArray())
                        .put(c.wire())
                        .array();
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
            int length = bytes.length < 5 ? -1 : ByteBuffer.wrap(bytes, 1, 4).getInt();
            if (length < 0 || 5 + length > bytes.length) {
                throw new SerializationException("candidate on " + topic + " is cut short: " + bytes.length + " bytes");
            }
            SourceCoordinates source;
            try {
                BinaryDecoder d = DecoderFactory.get().binaryDecoder(bytes, 5, length, null);
                synchronized (this) {
                    source = coordinatesReader.read(null, d);
                }
            } catch (IOException ex) {
                throw new SerializationException("cannot decode candidate coordinates from " + topic + ": " + ex.getMessage(), ex);
            }
            byte[] wire = Arrays.copyOfRange(bytes, 5 + length, bytes.length);
            return switch (bytes[0]) {
                case TICKET -> new Candidate(tickets.deserialize(topic, wire), source, wire);
                case REVIEW -> new Candidate(reviews.deserialize(topic, wire), source, wire);
                default -> throw new SerializationException("unknown candidate kind byte " + bytes[0] + " on " + topic);
            };
        };
    }
}
