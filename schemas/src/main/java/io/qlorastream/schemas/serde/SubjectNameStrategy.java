package io.qlorastream.schemas.serde;

import org.apache.avro.Schema;

/** How the subject of a record's schema is named (Confluent's {@code *.subject.name.strategy}). */
@FunctionalInterface
public interface SubjectNameStrategy {
    String subject(String topic, boolean isKey, Schema schema);

    /** {@code <topic>-key} / {@code <topic>-value}: Confluent's default. */
    final class TopicNameStrategy implements SubjectNameStrategy {
        @Override
        public String subject(String topic, boolean isKey, Schema schema) {
            return topic + (isKey ? "-key" : "-value");
        }
    }

    /** The record's full name, so one type keeps one subject across topics. */
    final class RecordNameStrategy implements SubjectNameStrategy {
        @Override
        public String subject(String topic, boolean isKey, Schema schema) {
            return schema.getFullName();
        }
    }

    /** {@code <topic>-<record full name>}. */
    final class TopicRecordNameStrategy implements SubjectNameStrategy {
        @Override
        public String subject(String topic, boolean isKey, Schema schema) {
            return topic + "-" + schema.getFullName();
        }
    }

    /**
     * The strategy a config value names: a {@link SubjectNameStrategy} instance or class, or a class name. Confluent's
     * class names ({@code io.confluent.kafka.serializers.subject.RecordNameStrategy}) map to ours, so configs written for
     * Confluent's serializers work unchanged.
     */
    static SubjectNameStrategy from(Object value, String key) {
        if (value == null) {
            return new TopicNameStrategy();
        }
        if (value instanceof SubjectNameStrategy s) {
            return s;
        }
        String name = value instanceof Class<?> c ? c.getName() : value.toString().trim();
        String simple = name.substring(name.lastIndexOf('.') + 1).replace('$', '.');
        simple = simple.substring(simple.lastIndexOf('.') + 1);
        switch (simple) {
            case "TopicNameStrategy":
                return new TopicNameStrategy();
            case "RecordNameStrategy":
                return new RecordNameStrategy();
            case "TopicRecordNameStrategy":
                return new TopicRecordNameStrategy();
            default:
                try {
                    Class<?> c = value instanceof Class<?> k ? k : Class.forName(name);
                    return (SubjectNameStrategy) c.getDeclaredConstructor().newInstance();
                } catch (ReflectiveOperationException | ClassCastException e) {
                    throw new IllegalArgumentException(key + ": not a subject name strategy: " + name, e);
                }
        }
    }
}
