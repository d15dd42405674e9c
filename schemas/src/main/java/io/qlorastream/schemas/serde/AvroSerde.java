package io.qlorastream.schemas.serde;

import io.qlorastream.schemas.registry.SchemaRegistryClient;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

import java.util.Map;

/** A Kafka (Streams) {@link Serde} of Avro records in the Confluent wire format: {@link AvroSerializer} + {@link AvroDeserializer}. */
public class AvroSerde<T> implements Serde<T> {
    private final AvroSerializer<T> serializer;
    private final AvroDeserializer<T> deserializer;

    protected AvroSerde(AvroSerializer<T> serializer, AvroDeserializer<T> deserializer) {
        this.serializer = serializer;
        this.deserializer = deserializer;
    }

    /** Reads into the generated class {@code type}; writes any record. */
    public static <T extends SpecificRecord> AvroSerde<T> specific(Class<T> type, SchemaRegistryClient client) {
        return new AvroSerde<>(new AvroSerializer<>(client), new AvroDeserializer<>(client, type));
    }

    /** GenericRecords in and out, read with the writer's schema. */
    public static AvroSerde<GenericRecord> generic(SchemaRegistryClient client) {
        return new AvroSerde<>(new AvroSerializer<>(client), new AvroDeserializer<>(client));
    }

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        serializer.configure(configs, isKey);
        deserializer.configure(configs, isKey);
    }

    /** Configures and returns this serde. */
    public AvroSerde<T> configured(Map<String, ?> configs, boolean isKey) {
        configure(configs, isKey);
        return this;
    }

    @Override
    public Serializer<T> serializer() {
        return serializer;
    }

    @Override
    public Deserializer<T> deserializer() {
        return deserializer;
    }
}
