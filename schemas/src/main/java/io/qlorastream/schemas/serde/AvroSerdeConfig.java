package io.qlorastream.schemas.serde;

import io.qlorastream.schemas.registry.RegistryClientConfig;

import java.util.Map;

/**
 * Serializer / deserializer settings, under Confluent's key names so one client config serves both:
 * {@code schema.registry.url} (and every other {@link RegistryClientConfig} key), {@code auto.register.schemas}
 * (default true), {@code specific.avro.reader} (default false), {@code key.subject.name.strategy} and
 * {@code value.subject.name.strategy} (default TopicNameStrategy).
 */
public final class AvroSerdeConfig {
    public static final String SCHEMA_REGISTRY_URL = RegistryClientConfig.URL;
    public static final String AUTO_REGISTER_SCHEMAS = "auto.register.schemas";
    public static final String SPECIFIC_AVRO_READER = "specific.avro.reader";
    public static final String KEY_SUBJECT_NAME_STRATEGY = "key.subject.name.strategy";
    public static final String VALUE_SUBJECT_NAME_STRATEGY = "value.subject.name.strategy";

    final boolean autoRegister;
    final boolean specificReader;
    final SubjectNameStrategy strategy;

    private AvroSerdeConfig(Map<String, ?> configs, boolean isKey) {
        autoRegister = bool(configs, AUTO_REGISTER_SCHEMAS, true);
        specificReader = bool(configs, SPECIFIC_AVRO_READER, false);
        String key = isKey ? KEY_SUBJECT_NAME_STRATEGY : VALUE_SUBJECT_NAME_STRATEGY;
        strategy = SubjectNameStrategy.from(configs.get(key), key);
    }

    static AvroSerdeConfig from(Map<String, ?> configs, boolean isKey) {
        return new AvroSerdeConfig(configs, isKey);
    }

    private static boolean bool(Map<String, ?> configs, String key, boolean dflt) {
        Object v = configs.get(key);
        if (v == null) {
            return dflt;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        String s = v.toString().trim();
        if (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false")) {
            return Boolean.parseBoolean(s);
        }
        throw new IllegalArgumentException(key + ": not true or false: " + v);
    }
}
