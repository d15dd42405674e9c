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
 * The internal repartition topic's value, a candidate for examples (dedupe by content hash needs equal content on
 * one partition): one kind byte ({@link SourceEvent#kind}: t ticket, r review), the length of the source coordinates
 * (4 bytes, big-endian), the coordinates in plain Avro binary, then the event's bytes exactly as they came from the
 * input topic (Confluent wire format, naming the writer's schema id). Carrying the input's bytes costs a copy where
 * encoding the event again cost about a tenth of the ingest stream thread, and the event is decoded on the other side
 * like any input: by the writer's schema from the registry, so records written before an upgrade that changes the
 * event schemas still read.
 *
 * <p>Records of the earlier layout (kind T or R, the coordinates, then the event in plain Avro binary of the
 * schemas compiled into the build) still read, so an upgrade need not drain the topic first.
 */
public final class SourceEventSerde implements Serde<SourceEvent> {
    private final Deserializer<SupportTicket> tickets;
    private final Deserializer<CodeReview> reviews;
    private final SpecificDatumWriter<SourceCoordinates> coordinatesWriter = new SpecificDatumWriter<>(SourceCoordinates.class);
    private final SpecificDatumReader<SourceCoordinates> coordinatesReader = new SpecificDatumReader<>(SourceCoordinates.class);
    private final SpecificDatumReader<SupportTicket> earlierTicketReader = new SpecificDatumReader<>(SupportTicket.class);
    private final SpecificDatumReader<CodeReview> earlierReviewReader = new SpecificDatumReader<>(CodeReview.class);

    /** {@code tickets} and {@code reviews}: the input topics' (configured) value deserializers. */
    public SourceEventSerde(Deserializer<SupportTicket> tickets, Deserializer<CodeReview> reviews) {
        this.tickets = tickets;
        this.reviews = reviews;
    }

    @Override
    public Serializer<SourceEvent> serializer() {
        return (topic, c) -> {
            if (c == null) {
                return null;
            }
            if (c.wire() == null) {
                throw new SerializationException("candidate for " + topic
                        + " has no input bytes to carry (it was read from the earlier layout)");
            }
            try {
                ByteArrayOutputStream coordinates = new ByteArrayOutputStream(64);
                BinaryEncoder e = EncoderFactory.get().directBinaryEncoder(coordinates, null);
                synchronized (this) {
                    coordinatesWriter.write(c.source(), e);
                }
                e.flush();
                return ByteBuffer.allocate(5 + coordinates.size() + c.wire().length)
                        .put(c.kind())
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
    public Deserializer<SourceEvent> deserializer() {
        return (topic, bytes) -> {
            if (bytes == null) {
                return null;
            }
            if (bytes.length > 0 && (bytes[0] == TicketSource.EARLIER_KIND || bytes[0] == ReviewSource.EARLIER_KIND)) {
                return earlier(topic, bytes);
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
                case TicketSource.KIND -> new TicketSource(tickets.deserialize(topic, wire), source, wire);
                case ReviewSource.KIND -> new ReviewSource(reviews.deserialize(topic, wire), source, wire);
                default -> throw new SerializationException("unknown candidate kind byte " + bytes[0] + " on " + topic);
            };
        };
    }

    /** A record of the earlier layout: its event was encoded with the schemas compiled into the build that wrote it. */
    private SourceEvent earlier(String topic, byte[] bytes) {
        try {
            BinaryDecoder d = DecoderFactory.get().binaryDecoder(bytes, 1, bytes.length - 1, null);
            synchronized (this) {
                SourceCoordinates source = coordinatesReader.read(null, d);
                // no input bytes to carry on: past the repartition, nothing writes the event again
                return bytes[0] == TicketSource.EARLIER_KIND
                        ? new TicketSource(earlierTicketReader.read(null, d), source, null)
                        : new ReviewSource(earlierReviewReader.read(null, d), source, null);
            }
        } catch (IOException | RuntimeException ex) {
            throw new SerializationException("cannot decode candidate (earlier layout) from " + topic + ": " + ex.getMessage(), ex);
        }
    }
}
