package io.qlorastream.ingest;

import io.qlorastream.events.CodeReview;
import io.qlorastream.events.SourceCoordinates;
import io.qlorastream.events.SupportTicket;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.List;

import static io.qlorastream.ingest.TestEvents.review;
import static io.qlorastream.ingest.TestEvents.source;
import static io.qlorastream.ingest.TestEvents.ticket;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The repartition value's framing: the current layout byte for byte, bad bytes refused by name, and records of the
 * earlier layout still read. The round trip with the registry's decoders runs in IngestTopologyTest and on the broker.
 */
class SourceEventSerdeTest {
    // the framing is checked before an event decoder is needed
    private final SourceEventSerde serde = new SourceEventSerde(null, null);

    @Test
    void bytesCutShortAreRefusedNamingTheTopic() {
        assertThatThrownBy(() -> serde.deserializer().deserialize("by-hash", new byte[]{'t', 0, 0}))
                .isInstanceOf(SerializationException.class).hasMessage("candidate on by-hash is cut short: 3 bytes");
        // a coordinates length running past the end
        assertThatThrownBy(() -> serde.deserializer().deserialize("by-hash", new byte[]{'t', 0, 0, 0, 9, 1, 2}))
                .isInstanceOf(SerializationException.class).hasMessage("candidate on by-hash is cut short: 7 bytes");
    }

    @Test
    void anUnknownKindIsRefused() {
        // kind 'X', coordinates: topic "t" (Avro string: zig-zag length 1, 't'), partition 0, offset 0; then one byte
        byte[] bytes = {'X', 0, 0, 0, 4, 2, 't', 0, 0, 0};
        assertThatThrownBy(() -> serde.deserializer().deserialize("by-hash", bytes))
                .isInstanceOf(SerializationException.class).hasMessage("unknown candidate kind byte 88 on by-hash");
    }

    @Test
    void recordsOfTheEarlierLayoutStillRead() throws Exception {
        SourceCoordinates where = new SourceCoordinates("support-tickets", 2, 41L);
        SupportTicket t = ticket().build();
        CodeReview r = review().build();
        SourceEvent fromTicket = serde.deserializer().deserialize("by-hash", earlierLayout('T', where, t, SupportTicket.class));
        SourceEvent fromReview = serde.deserializer().deserialize("by-hash", earlierLayout('R', where, r, CodeReview.class));
        assertThat(fromTicket.event()).isEqualTo(t);
        assertThat(fromTicket.source()).isEqualTo(where);
        assertThat(fromReview.event()).isEqualTo(r);
        assertThat(fromTicket.contentHash()).isEqualTo(source(t).contentHash());
        // such a candidate has no input bytes to carry further, and says so if asked to
        assertThatThrownBy(() -> serde.serializer().serialize("by-hash", fromTicket))
                .isInstanceOf(SerializationException.class).hasMessageContaining("has no input bytes to carry");
    }

    @Test
    void theCurrentLayoutIsKindCoordinatesThenTheInputBytesAsTheyCame() throws Exception {
        SourceCoordinates where = new SourceCoordinates("code-reviews", 1, 7L);
        SupportTicket t = ticket().build();
        CodeReview r = review().build();
        byte[] ticketWire = {0, 0, 0, 0, 3, 10, 11}; // Confluent wire format: magic byte, schema id, then the body
        byte[] reviewWire = {0, 0, 0, 0, 4, 20, 21, 22};
        // decoders standing in for the registry's: each must be handed its own input's bytes, exactly
        SourceEventSerde framing = new SourceEventSerde(
                (topic, bytes) -> decoded(bytes, ticketWire, t), (topic, bytes) -> decoded(bytes, reviewWire, r));
        ByteArrayOutputStream coordinates = new ByteArrayOutputStream();
        BinaryEncoder e = EncoderFactory.get().directBinaryEncoder(coordinates, null);
        new SpecificDatumWriter<>(SourceCoordinates.class).write(where, e);
        e.flush();
        for (SourceEvent written : List.of(new TicketSource(t, where, ticketWire), new ReviewSource(r, where, reviewWire))) {
            byte[] bytes = framing.serializer().serialize("by-hash", written);
            assertThat(bytes).isEqualTo(ByteBuffer.allocate(5 + coordinates.size() + written.wire().length)
                    .put((byte) (written instanceof TicketSource ? 't' : 'r')).putInt(coordinates.size())
                    .put(coordinates.toByteArray()).put(written.wire()).array());
            SourceEvent read = framing.deserializer().deserialize("by-hash", bytes);
            assertThat(read).hasSameClassAs(written);
            assertThat(read.event()).isEqualTo(written.event());
            assertThat(read.source()).isEqualTo(where);
            assertThat(read.wire()).isEqualTo(written.wire());
        }
    }

    private static <T> T decoded(byte[] bytes, byte[] expected, T event) {
        assertThat(bytes).isEqualTo(expected);
        return event;
    }

    /** As the build before this layout wrote it: kind byte, the coordinates, then the event, all plain Avro binary. */
    private static <T> byte[] earlierLayout(char kind, SourceCoordinates where, T event, Class<T> type) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(kind);
        BinaryEncoder e = EncoderFactory.get().directBinaryEncoder(out, null);
        new SpecificDatumWriter<>(SourceCoordinates.class).write(where, e);
        new SpecificDatumWriter<>(type).write(event, e);
        e.flush();
        return out.toByteArray();
    }
}
