package io.qlorastream.schemas.registry;

/** A schema as registered under a subject: {@code {"subject", "version", "id", "schema"}}. */
public record RegisteredSchema(String subject, int version, int id, String schema) {
}
