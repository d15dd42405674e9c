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

import static io.qlorastream.ingest.TestEvents.review;
import static io.qlorastream.ingest.TestEvents.source;
import static io.qlorastream.ingest.TestEvents.ticket;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The repartition value's framing: bad bytes refused by name, and records of the earlier layout still read. The round
 * trip of the current layout (which needs the registry) runs in IngestTopologyTest and on the broker.
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
