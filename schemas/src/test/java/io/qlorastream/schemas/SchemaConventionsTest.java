package io.qlorastream.schemas;

import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The event schemas follow the project's conventions, checked on the generated classes' own schemas. */
class SchemaConventionsTest {

    @Test
    void everyRecordEnumAndFieldIsDocumentedSnakeCaseAndTyped() {
        Set<String> seen = new HashSet<>();
        for (SpecificRecord event : SampleEvents.all()) {
            assertThat(event.getSchema().getNamespace()).isEqualTo("io.qlorastream.events");
            check(event.getSchema(), seen);
        }
        assertThat(seen).contains("io.qlorastream.events.SupportTicket", "io.qlorastream.events.TicketMessage",
                "io.qlorastream.events.LoraConfig", "io.qlorastream.events.OffsetRange", "io.qlorastream.events.AdapterRelease");
    }

    private static void check(Schema schema, Set<String> seen) {
        switch (schema.getType()) {
            case RECORD -> {
                if (!seen.add(schema.getFullName())) {
                    return;
                }
                assertThat(schema.getDoc()).as("doc of " + schema.getFullName()).isNotBlank();
                for (Schema.Field f : schema.getFields()) {
                    String where = schema.getName() + "." + f.name();
                    assertThat(f.doc()).as("doc of " + where).isNotBlank();
                    assertThat(f.name()).as("snake_case " + where).matches("[a-z][a-z0-9]*(_[a-z0-9]+)*");
                    if (f.name().endsWith("_at")) {
                        assertThat(f.schema().getLogicalType()).as("timestamp " + where).isEqualTo(LogicalTypes.timestampMillis());
                    }
                    if (f.name().endsWith("_id")) {
                        Schema t = f.schema().isUnion() ? f.schema().getTypes().get(1) : f.schema();
                        assertThat(t.getType()).as("string id " + where).isEqualTo(Schema.Type.STRING);
                    }
                    if (f.schema().isUnion()) {
                        List<Schema> branches = f.schema().getTypes();
                        assertThat(branches).as("optional " + where).hasSize(2);
                        assertThat(branches.get(0).getType()).as("optional " + where + " starts with null").isEqualTo(Schema.Type.NULL);
                        assertThat(f.hasDefaultValue() && f.defaultVal() == org.apache.avro.JsonProperties.NULL_VALUE).as("default null " + where).isTrue();
                    }
                    check(f.schema(), seen);
                }
            }
            case ENUM -> {
                if (seen.add(schema.getFullName())) {
                    assertThat(schema.getDoc()).as("doc of " + schema.getFullName()).isNotBlank();
                }
            }
            case ARRAY -> check(schema.getElementType(), seen);
            case MAP -> check(schema.getValueType(), seen);
            case UNION -> schema.getTypes().forEach(t -> check(t, seen));
            default -> {
            }
        }
    }
}
