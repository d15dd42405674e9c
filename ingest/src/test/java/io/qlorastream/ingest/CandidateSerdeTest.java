package io.qlorastream.ingest;

import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The repartition value's framing refuses bad bytes by name; its round trip runs in IngestTopologyTest and on the broker. */
class CandidateSerdeTest {
    // the framing is checked before an event decoder is needed
    private final CandidateSerde serde = new CandidateSerde(null, null);

    @Test
    void bytesCutShortAreRefusedNamingTheTopic() {
        assertThatThrownBy(() -> serde.deserializer().deserialize("by-hash", new byte[]{'T', 0, 0}))
                .isInstanceOf(SerializationException.class).hasMessage("candidate on by-hash is cut short: 3 bytes");
        // a coordinates length running past the end
        assertThatThrownBy(() -> serde.deserializer().deserialize("by-hash", new byte[]{'T', 0, 0, 0, 9, 1, 2}))
                .isInstanceOf(SerializationException.class).hasMessage("candidate on by-hash is cut short: 7 bytes");
    }

    @Test
    void anUnknownKindIsRefused() {
        // kind 'X', coordinates: topic "t" (Avro string: zig-zag length 1, 't'), partition 0, offset 0; then one byte
        byte[] bytes = {'X', 0, 0, 0, 4, 2, 't', 0, 0, 0};
        assertThatThrownBy(() -> serde.deserializer().deserialize("by-hash", bytes))
                .isInstanceOf(SerializationException.class).hasMessage("unknown candidate kind byte 88 on by-hash");
    }
}
