package io.qlorastream.schemas;

import io.qlorastream.events.CodeReview;
import io.qlorastream.events.SupportTicket;
import io.qlorastream.schemas.junit.EmbeddedSchemaRegistryExtension;
import io.qlorastream.schemas.registry.CompatibilityLevel;
import io.qlorastream.schemas.registry.RegisteredSchema;
import io.qlorastream.schemas.registry.RegistryException;
import io.qlorastream.schemas.registry.SchemaRegistryClient;
import io.qlorastream.schemas.registry.server.EmbeddedSchemaRegistry;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every endpoint of the REST API, through our client and the embedded registry, with Confluent's error codes. */
@ExtendWith(EmbeddedSchemaRegistryExtension.class)
class RegistryApiTest {

    private static Schema record(String name, String... optionalFields) {
        StringBuilder sb = new StringBuilder("{\"type\":\"record\",\"name\":\"" + name + "\",\"namespace\":\"test.api\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"}");
        for (String f : optionalFields) {
            sb.append(",{\"name\":\"").append(f).append("\",\"type\":[\"null\",\"string\"],\"default\":null}");
        }
        return new Schema.Parser().parse(sb.append("]}").toString());
    }

    private static Schema withRequired(String name, String field) {
        return new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"" + name + "\",\"namespace\":\"test.api\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\""
                + field + "\",\"type\":\"string\"}]}");
    }

    private static int code(Runnable call) {
        try {
            call.run();
        } catch (RegistryException e) {
            return e.errorCode();
        }
        throw new AssertionError("no error");
    }

    @Test
    void registerLookUpListGetAndIdsAreGlobalPerSchema(SchemaRegistryClient client) {
        int ticketId = client.register("api-a-value", SupportTicket.getClassSchema());
        assertThat(client.register("api-a-value", SupportTicket.getClassSchema())).as("same schema again").isEqualTo(ticketId);
        client.setSubjectCompatibility("api-b-value", CompatibilityLevel.NONE); // two unrelated types under one subject
        int reviewId = client.register("api-b-value", CodeReview.getClassSchema());
        assertThat(reviewId).isNotEqualTo(ticketId);
        // The same schema under another subject keeps its id; its version there is that subject's own.
        assertThat(client.register("api-b-value", SupportTicket.getClassSchema())).isEqualTo(ticketId);
        assertThat(client.versions("api-b-value")).containsExactly(1, 2);

        assertThat(client.subjects()).contains("api-a-value", "api-b-value");
        assertThat(client.lookup("api-b-value", SupportTicket.getClassSchema()))
                .isEqualTo(new RegisteredSchema("api-b-value", 2, ticketId, SupportTicket.getClassSchema().toString()));
        assertThat(client.version("api-b-value", 1).id()).isEqualTo(reviewId);
        assertThat(client.latest("api-b-value").version()).isEqualTo(2);
        assertThat(SchemaRegistryClient.of(urlOf(client)).schemaById(reviewId)).isEqualTo(CodeReview.getClassSchema());

        assertThat(code(() -> client.versions("api-none"))).isEqualTo(40401);
        assertThat(code(() -> client.latest("api-none"))).isEqualTo(40401);
        assertThat(code(() -> client.lookup("api-none", SupportTicket.getClassSchema()))).isEqualTo(40401);
        assertThat(code(() -> client.lookup("api-a-value", CodeReview.getClassSchema()))).isEqualTo(40403);
        assertThat(code(() -> client.version("api-a-value", 9))).isEqualTo(40402);
        assertThat(code(() -> SchemaRegistryClient.of(urlOf(client)).schemaById(987_654))).isEqualTo(40403);
        assertThatThrownBy(() -> client.latest("api-none")).isInstanceOf(RegistryException.SubjectNotFoundException.class)
                .hasMessage("Subject 'api-none' not found.");
    }

    @Test
    void invalidSchemasVersionsAndLevelsAre422(EmbeddedSchemaRegistry registry, SchemaRegistryClient client) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> bad = http.send(HttpRequest.newBuilder(URI.create(registry.url() + "/subjects/api-bad/versions"))
                .header("Content-Type", SchemaRegistryClient.CONTENT_TYPE)
                .POST(HttpRequest.BodyPublishers.ofString("{\"schema\":\"{\\\"type\\\":\\\"record\\\",\\\"name\\\":\\\"X\\\"}\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(bad.statusCode()).isEqualTo(422);
        assertThat(bad.body()).contains("\"error_code\":42201");
        assertThat(bad.headers().firstValue("Content-Type")).hasValue(SchemaRegistryClient.CONTENT_TYPE);

        client.register("api-bad-version", record("V"));
        HttpResponse<String> badVersion = http.send(HttpRequest.newBuilder(URI.create(registry.url() + "/subjects/api-bad-version/versions/zero")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(badVersion.statusCode()).isEqualTo(422);
        assertThat(badVersion.body()).contains("\"error_code\":42202");

        HttpResponse<String> badLevel = http.send(HttpRequest.newBuilder(URI.create(registry.url() + "/config/api-bad-version"))
                .PUT(HttpRequest.BodyPublishers.ofString("{\"compatibility\":\"SIDEWAYS\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(badLevel.statusCode()).isEqualTo(422);
        assertThat(badLevel.body()).contains("\"error_code\":42203");

        HttpResponse<String> subjects = http.send(HttpRequest.newBuilder(URI.create(registry.url() + "/subjects")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(subjects.statusCode()).isEqualTo(200);
        assertThat(subjects.body()).startsWith("[").contains("\"api-bad-version\"");
    }

    @Test
    void softAndPermanentDeletesFollowConfluentsRules(SchemaRegistryClient client) {
        String s = "api-delete-value";
        int id1 = client.register(s, record("D"));
        client.register(s, record("D", "a"));
        client.register(s, record("D", "a", "b"));

        assertThat(code(() -> client.deleteVersion(s, 1, true))).as("permanent before soft").isEqualTo(40407);
        assertThat(client.deleteVersion(s, 1, false)).isEqualTo(1);
        assertThat(code(() -> client.deleteVersion(s, 1, false))).as("soft twice").isEqualTo(40406);
        assertThat(client.versions(s)).containsExactly(2, 3);
        assertThat(code(() -> client.version(s, 1))).isEqualTo(40402);
        assertThat(client.deleteVersion(s, 1, true)).isEqualTo(1);
        assertThat(SchemaRegistryClient.of(urlOf(client)).schemaById(id1)).as("ids stay readable for old data").isEqualTo(record("D"));

        assertThat(code(() -> client.deleteSubject(s, true))).as("permanent subject before soft").isEqualTo(40405);
        assertThat(client.deleteSubject(s, false)).containsExactly(2, 3);
        assertThat(client.subjects()).doesNotContain(s);
        assertThat(code(() -> client.versions(s))).isEqualTo(40401);
        assertThat(code(() -> client.deleteSubject(s, false))).as("soft subject twice").isEqualTo(40404);
        assertThat(client.deleteSubject(s, true)).containsExactly(2, 3);
        assertThat(code(() -> client.deleteSubject(s, true))).isEqualTo(40401);

        // A fresh registration after a hard delete starts again and keeps the schema's id.
        assertThat(client.register(s, record("D"))).isEqualTo(id1);
        assertThat(client.versions(s)).containsExactly(1);
    }

    @Test
    void configGlobalAndPerSubject(SchemaRegistryClient client) {
        assertThat(client.globalCompatibility()).isEqualTo(CompatibilityLevel.BACKWARD);
        assertThat(code(() -> client.subjectCompatibility("api-config-value"))).isEqualTo(40408);
        assertThat(client.setSubjectCompatibility("api-config-value", CompatibilityLevel.FULL_TRANSITIVE)).isEqualTo(CompatibilityLevel.FULL_TRANSITIVE);
        assertThat(client.subjectCompatibility("api-config-value")).isEqualTo(CompatibilityLevel.FULL_TRANSITIVE);
        assertThat(client.globalCompatibility()).isEqualTo(CompatibilityLevel.BACKWARD);
    }

    /** Each level accepts and refuses what Confluent's does, checked by the registry with Avro's checker. */
    @Test
    void everyCompatibilityLevelIsEnforced(SchemaRegistryClient client) {
        // BACKWARD: new readers read old data. Removing a field is fine, adding a required one is not.
        assertLevel(client, CompatibilityLevel.BACKWARD, withRequired("L1", "x"), record("L1"), true);
        assertLevel(client, CompatibilityLevel.BACKWARD, record("L2"), withRequired("L2", "x"), false);
        // FORWARD: old readers read new data. Adding a required field is fine, removing one without default is not.
        assertLevel(client, CompatibilityLevel.FORWARD, record("L3"), withRequired("L3", "x"), true);
        assertLevel(client, CompatibilityLevel.FORWARD, withRequired("L4", "x"), record("L4"), false);
        // FULL: both ways; optional fields pass, required ones fail one way.
        assertLevel(client, CompatibilityLevel.FULL, record("L5"), record("L5", "o"), true);
        assertLevel(client, CompatibilityLevel.FULL, record("L6"), withRequired("L6", "x"), false);
        assertLevel(client, CompatibilityLevel.NONE, record("L7"), new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"L7\",\"namespace\":\"test.api\",\"fields\":[{\"name\":\"id\",\"type\":\"int\"}]}"), true);

        // Transitive levels look at every version, the plain ones only at the latest.
        for (CompatibilityLevel level : List.of(CompatibilityLevel.BACKWARD, CompatibilityLevel.BACKWARD_TRANSITIVE)) {
            String s = "api-level-transitive-" + level;
            client.setSubjectCompatibility(s, CompatibilityLevel.NONE);
            client.register(s, record("T", "a"));
            client.register(s, withRequired("T", "z")); // v2 drops a, adds required z (NONE allows it)
            client.setSubjectCompatibility(s, level);
            // v3 = {id, z, a optional}: reads v2 data; reading v1 data fails on the missing required z.
            Schema v3 = new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"T\",\"namespace\":\"test.api\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"z\",\"type\":\"string\"},{\"name\":\"a\",\"type\":[\"null\",\"string\"],\"default\":null}]}");
            assertThat(client.isCompatible(s, v3)).as(level.name()).isEqualTo(level == CompatibilityLevel.BACKWARD);
            assertThat(client.isCompatible(s, "2", v3)).isTrue();
            assertThat(client.isCompatible(s, "1", v3)).isFalse();
        }
        assertThat(code(() -> client.isCompatible("api-level-none", "1", record("Q")))).isEqualTo(40401);
        assertThat(client.isCompatible("api-level-none", record("Q"))).as("nothing to break").isTrue();
    }

    private static void assertLevel(SchemaRegistryClient client, CompatibilityLevel level, Schema first, Schema second, boolean accepted) {
        String s = "api-level-" + first.getName() + "-value";
        client.setSubjectCompatibility(s, level);
        client.register(s, first);
        assertThat(client.isCompatible(s, second)).as(level + " " + first + " -> " + second).isEqualTo(accepted);
        if (accepted) {
            client.register(s, second);
            assertThat(client.versions(s)).containsExactly(1, 2);
        } else {
            assertThat(code(() -> client.register(s, second))).isEqualTo(409);
        }
    }

    private static String urlOf(SchemaRegistryClient client) {
        return client.urls().get(0).toString();
    }
}
