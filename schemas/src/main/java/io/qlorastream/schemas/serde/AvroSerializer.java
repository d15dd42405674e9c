package io.qlorastream.schemas.serde;

import io.qlorastream.schemas.registry.RegistryException;
import io.qlorastream.schemas.registry.SchemaRegistryClient;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Serializer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Writes Avro records (generated specific classes or {@code GenericRecord}s) in the Confluent wire format:
 * byte 0 = magic 0, bytes 1-4 = the schema's registry id (big-endian), then the Avro binary encoding. The schema is
 * registered under the subject the naming strategy gives ({@code auto.register.schemas=true}, the default) or must
 * already be there ({@code false}: a look-up).
 */
public class AvroSerializer<T> implements Serializer<T> {
    static final byte MAGIC = 0;

    private SchemaRegistryClient client;
    private AvroSerdeConfig config;
    private boolean isKey;
    private final Map<Schema, DatumWriter<Object>> writers = new ConcurrentHashMap<>();

    /** Configured later through {@link #configure} (as Kafka does from class names). */
    public AvroSerializer() {
    }

    /** Uses this client (shared caches), with default settings until {@link #configure}. */
    public AvroSerializer(SchemaRegistryClient client) {
        this.client = client;
        this.config = AvroSerdeConfig.from(Map.of(), false); // until configure(): value subjects, auto-register
    }

    /** Ready to use: this client, these settings. */
    public AvroSerializer(SchemaRegistryClient client, Map<String, ?> configs, boolean isKey) {
        this.client = client;
        configure(configs, isKey);
    }

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        this.isKey = isKey;
        this.config = AvroSerdeConfig.from(configs, isKey);
        if (client == null) {
            client = new SchemaRegistryClient(configs);
        }
    }

    @Override
    public byte[] serialize(String topic, T data) {
        return serialize(topic, null, data);
    }

    @Override
    public byte[] serialize(String topic, Headers headers, T data) {
        if (data == null) {
            return null;
        }
        if (config == null) {
            throw new IllegalStateException("AvroSerializer used before configure()");
        }
        if (!(data instanceof IndexedRecord record)) {
            throw new SerializationException("cannot serialize a " + data.getClass().getName() + " for topic " + topic
                    + ": only Avro records (specific or GenericRecord) are supported");
        }
        Schema schema = record.getSchema();
        String subject = config.strategy.subject(topic, isKey, schema);
        int id;
        try {
            id = config.autoRegister ? client.register(subject, schema) : client.idOf(subject, schema);
        } catch (RegistryException e) {
            throw new SerializationException((config.autoRegister ? "Error registering" : "Error looking up")
                    + " Avro schema " + schema.getFullName() + " under subject " + subject + " for topic " + topic + ": " + e.getMessage(), e);
        }
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream(256);
            out.write(MAGIC);
            out.write(ByteBuffer.allocate(4).putInt(id).array());
            BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
            writer(record).write(record, encoder);
            encoder.flush();
            return out.toByteArray();
        } catch (IOException | RuntimeException e) {
            throw new SerializationException("Error serializing Avro message of schema " + schema.getFullName()
                    + " (id " + id + ") for topic " + topic + ": " + e, e);
        }
    }

    private DatumWriter<Object> writer(IndexedRecord record) {
        Schema schema = record.getSchema();
        return writers.computeIfAbsent(schema, s -> record instanceof SpecificRecord
                ? new SpecificDatumWriter<>(s, SpecificData.getForClass(record.getClass()))
                : new GenericDatumWriter<>(s, GenericData.get()));
    }

    /** The registry client in use. */
    public SchemaRegistryClient client() {
        return client;
    }
}
