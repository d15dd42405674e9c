package io.qlorastream.schemas.serde;

import org.apache.avro.generic.GenericRecord;

/** Confluent's {@code GenericAvroSerde} under our roof: GenericRecords, usable by class name. */
public class GenericAvroSerde extends AvroSerde<GenericRecord> {
    public GenericAvroSerde() {
        super(new AvroSerializer<>(), new AvroDeserializer<>());
    }
}
