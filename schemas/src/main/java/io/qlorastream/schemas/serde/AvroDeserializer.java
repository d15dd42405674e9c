package io.qlorastream.schemas.serde;

import io.qlorastream.schemas.registry.RegistryException;
import io.qlorastream.schemas.registry.SchemaRegistryClient;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Deserializer;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads the Confluent wire format: checks the magic byte, fetches the writer's schema by id from the registry
 * (cached), and decodes with Avro schema resolution into the reader's schema, so events written with an older or
 * newer compatible schema stay readable. The reader's schema is, in order: the generated class given to the
 * constructor; with {@code specific.avro.reader=true} the generated class named like the writer's record; a reader
 * schema given to the constructor (GenericRecord); else the writer's own (GenericRecord).
 *
 * <p>Bad bytes raise a {@link SerializationException} naming the topic (and partition and offset through
 * {@link #deserialize(ConsumerRecord)}; a KafkaConsumer adds them itself in its {@code RecordDeserializationException})
 * and the cause.
 */
public class AvroDeserializer<T> implements Deserializer<T> {
    private SchemaRegistryClient client;
    private AvroSerdeConfig config;
    private final Class<? extends SpecificRecord> specificClass;
    private final Schema readerSchema;
    private final Map<Integer, DatumReader<Object>> readers = new ConcurrentHashMap<>();

    /** Configured later through {@link #configure}. */
    public AvroDeserializer() {
        this(null, null, null);
    }

    public AvroDeserializer(SchemaRegistryClient client) {
        this(client, null, null);
    }

    /** Reads into the generated class {@code type}, whatever compatible schema wrote the data. */
    public AvroDeserializer(SchemaRegistryClient client, Class<? extends SpecificRecord> type) {
        this(client, type, null);
    }

    /** Reads GenericRecords resolved into {@code readerSchema}. */
    public AvroDeserializer(SchemaRegistryClient client, Schema readerSchema) {
        this(client, null, readerSchema);
    }

    private AvroDeserializer(SchemaRegistryClient client, Class<? extends SpecificRecord> type, Schema readerSchema) {
        this.client = client;
        this.specificClass = type;
        this.readerSchema = readerSchema;
    }

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        config = AvroSerdeConfig.from(configs, isKey);
        if (client == null) {
            client = new SchemaRegistryClient(configs);
        }
    }

    /** Configures and returns this deserializer. */
    public AvroDeserializer<T> configured(Map<String, ?> configs, boolean isKey) {
        configure(configs, isKey);
        return this;
    }

    @Override
    public T deserialize(String topic, byte[] data) {
        return deserialize(topic, -1, -1, data);
    }

    @Override
    public T deserialize(String topic, Headers headers, byte[] data) {
        return deserialize(topic, -1, -1, data);
    }

    @Override
    public T deserialize(String topic, Headers headers, ByteBuffer data) {
        if (data == null) {
            return null;
        }
        byte[] bytes = new byte[data.remaining()];
        data.duplicate().get(bytes);
        return deserialize(topic, -1, -1, bytes);
    }

    /** Decodes a raw record's value; errors name its topic, partition and offset. */
    public T deserialize(ConsumerRecord<?, byte[]> record) {
        return deserialize(record.topic(), record.partition(), record.offset(), record.value());
    }

    @SuppressWarnings("unchecked")
    public T deserialize(String topic, int partition, long offset, byte[] data) {
        if (data == null) {
            return null;
        }
        if (config == null && client == null) {
            throw new IllegalStateException("AvroDeserializer used before configure()");
        }
        if (data.length < 5) {
            throw new SerializationException("Error deserializing Avro message at " + where(topic, partition, offset) + ": " + data.length
                    + " bytes, too short for the Confluent wire format (magic byte + 4-byte schema id)");
        }
        if (data[0] != AvroSerializer.MAGIC) {
            throw new SerializationException("Error deserializing Avro message at " + where(topic, partition, offset) + ": unknown magic byte "
                    + data[0] + " (expected 0, the Confluent wire format)");
        }
        int id = ByteBuffer.wrap(data, 1, 4).getInt();
        DatumReader<Object> reader;
        try {
            reader = readers.computeIfAbsent(id, this::reader);
        } catch (RegistryException e) {
            throw new SerializationException("Error retrieving Avro schema id " + id + " for message at " + where(topic, partition, offset) + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new SerializationException("Error resolving the reader schema for schema id " + id + " at " + where(topic, partition, offset) + ": " + e.getMessage(), e);
        }
        try {
            BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(data, 5, data.length - 5, null);
            return (T) reader.read(null, decoder);
        } catch (Exception e) {
            throw new SerializationException("Error deserializing Avro message with schema id " + id + " at "
                    + where(topic, partition, offset) + ": " + (e instanceof java.io.EOFException ? "truncated data (" + e + ")" : e.toString()), e);
        }
    }

    // built only for an error: a stream decodes many thousand records a second
    private static String where(String topic, int partition, long offset) {
        return "topic " + topic + (partition >= 0 ? " partition " + partition : "") + (offset >= 0 ? " offset " + offset : "");
    }

    private DatumReader<Object> reader(int id) {
        Schema writer = client.schemaById(id);
        if (specificClass != null) {
            SpecificData model = SpecificData.getForClass(specificClass);
            return new SpecificDatumReader<>(writer, model.getSchema(specificClass), model);
        }
        if (config != null && config.specificReader && writer.getType() == Schema.Type.RECORD) {
            Class<?> generated = SpecificData.get().getClass(writer);
            if (generated == null || !SpecificRecord.class.isAssignableFrom(generated)) {
                throw new IllegalStateException("specific.avro.reader=true but no generated class "
                        + writer.getFullName() + " is on the classpath");
            }
            SpecificData model = SpecificData.getForClass(generated);
            return new SpecificDatumReader<>(writer, model.getSchema(generated), model);
        }
        return new GenericDatumReader<>(writer, readerSchema != null ? readerSchema : writer, GenericData.get());
    }

    public SchemaRegistryClient client() {
        return client;
    }
}
