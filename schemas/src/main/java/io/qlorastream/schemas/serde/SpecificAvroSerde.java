package io.qlorastream.schemas.serde;

import org.apache.avro.specific.SpecificRecord;

import java.util.HashMap;
import java.util.Map;

/**
 * Confluent's {@code SpecificAvroSerde} under our roof: usable by class name ({@code default.value.serde}); reads
 * into the generated class named like the writer's record ({@code specific.avro.reader} forced on).
 */
public class SpecificAvroSerde<T extends SpecificRecord> extends AvroSerde<T> {
    public SpecificAvroSerde() {
        super(new AvroSerializer<>(), new AvroDeserializer<>());
    }

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        Map<String, Object> c = new HashMap<>(configs);
        c.put(AvroSerdeConfig.SPECIFIC_AVRO_READER, true);
        super.configure(c, isKey);
    }
}
