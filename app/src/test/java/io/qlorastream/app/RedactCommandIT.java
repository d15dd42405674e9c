package io.qlorastream.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Runs `qlora-stream redact` from the real fat jar on files with planted PII and secrets. */
class RedactCommandIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Every value planted in the input; none may survive in any output text. */
    private static final List<String> PLANTED = List.of(
            "maria.g@example.org", "+44 20 7946 0958", "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00",
            "203.0.113.42", "2001:db8::8a2e:370:7334", "078-05-1120", "svc:Pa55w0rd", "AKIAIOSFODNN7EXAMPLE",
            "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
            "hooks.slack.com/services/T00000000", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "AIzaSyA-1234567890abcdefghijklmnopqrstu",
            "eyJhbGciOiJIUzI1NiJ9", "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun", "hunter2!",
            "Maria Gonzalez", "ACC-77120", "dXNlcjpwYXNz1234");

    @Test
    void redactsTextKeepsOtherFieldsInOrderAndCountsByType(@TempDir Path dir) throws Exception {
        Path in = dir.resolve("sample.jsonl");
        Path out = dir.resolve("redacted.jsonl");
        List<String> lines = List.of(
                line("t-1", "Hi, I'm Maria Gonzalez (maria.g@example.org, +44 20 7946 0958). Card 4111 1111 1111 1111, "
                        + "IBAN DE89 3704 0044 0532 0130 00, SSN 078-05-1120. maria.g@example.org again, maria gonzalez too."),
                line("t-2", "From 203.0.113.42 and 2001:db8::8a2e:370:7334: DATABASE_URL=postgres://svc:Pa55w0rd@db.internal/app "
                        + "aws_access_key_id=AKIAIOSFODNN7EXAMPLE token: ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5 "
                        + "slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx "
                        + "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX "
                        + "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc google AIzaSyA-1234567890abcdefghijklmnopqrstu "
                        + "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U "
                        + "password=hunter2! basic: Authorization: Basic dXNlcjpwYXNz1234 account ACC-77120"),
                line("t-3", "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
                        + "-----END RSA PRIVATE KEY-----\nend"),
                line("t-4", "Upgraded to v10.0.1 on 2024-03-05T10:30:45Z, request 550e8400-e29b-41d4-a716-446655440000, "
                        + "commit 9fceb02, localhost:8080, order 4111 1111 1111 1112."),
                "",
                "{\"id\":\"t-5\",\"text\":\"nothing here\"}");
        Files.write(in, lines, StandardCharsets.UTF_8);

        try (JarProcess redact = JarProcess.start("redact", "--in", in.toString(), "--out", out.toString())) {
            assertThat(redact.awaitExit(Duration.ofSeconds(60))).as(redact.stderr()).isZero();
        }

        List<JsonNode> objects = new ArrayList<>();
        for (String l : Files.readAllLines(out, StandardCharsets.UTF_8)) {
            objects.add(JSON.readTree(l));
        }
        assertThat(objects).hasSize(5);
        for (JsonNode o : objects) {
            for (String planted : PLANTED) {
                assertThat(o.get("text").asText()).as(o.get("id").asText()).doesNotContainIgnoringCase(planted);
            }
        }
        JsonNode first = objects.get(0);
        assertThat(fieldNames(first)).containsExactly("id", "customer_name", "customer_email", "account_id", "text", "source", "redactions");
        assertThat(first.get("source").asText()).isEqualTo("support");
        assertThat(first.get("customer_name").asText()).isEqualTo("Maria Gonzalez"); // structured fields are not ours to touch
        assertThat(first.get("text").asText()).isEqualTo("Hi, I'm <NAME_1> (<EMAIL_1>, <PHONE_1>). Card <CARD_1>, "
                + "IBAN <IBAN_1>, SSN <SSN_1>. <EMAIL_1> again, <NAME_1> too.");
        assertThat(first.get("redactions").toString())
                .isEqualTo("{\"EMAIL\":2,\"NAME\":2,\"IBAN\":1,\"CARD\":1,\"SSN\":1,\"PHONE\":1}");

        JsonNode second = objects.get(1);
        assertThat(fieldNames(second.get("redactions"))).containsExactlyInAnyOrder("URL_CREDENTIALS", "SLACK_WEBHOOK", "JWT",
                "AWS_ACCESS_KEY", "GITHUB_TOKEN", "SLACK_TOKEN", "STRIPE_KEY", "GOOGLE_API_KEY", "PASSWORD", "SECRET", "ACCOUNT_ID",
                "IP_ADDRESS");
        assertThat(second.get("redactions").get("IP_ADDRESS").asInt()).isEqualTo(2);
        assertThat(second.get("redactions").get("SECRET").asInt()).isEqualTo(1);
        assertThat(second.get("text").asText()).contains("Authorization: Bearer <JWT_1>", "password=<PASSWORD_1>");

        assertThat(objects.get(2).get("text").asText()).isEqualTo("key:\n<PRIVATE_KEY_1>\nend");
        assertThat(objects.get(3).get("text").asText()).isEqualTo(JSON.readTree(lines.get(3)).get("text").asText());
        assertThat(objects.get(3).get("redactions").size()).isZero();
        assertThat(objects.get(4).toString()).isEqualTo("{\"id\":\"t-5\",\"text\":\"nothing here\",\"redactions\":{}}");
    }

    @Test
    void aBadLineFailsNamingTheFileAndLine(@TempDir Path dir) throws Exception {
        Path in = dir.resolve("bad.jsonl");
        Files.write(in, List.of("{\"text\":\"fine a@example.com\"}", "{\"text\": oops}", "{\"text\":\"never read\"}"));
        try (JarProcess redact = JarProcess.start("redact", "--in", in.toString(), "--out", dir.resolve("o.jsonl").toString())) {
            assertThat(redact.awaitExit(Duration.ofSeconds(60))).isEqualTo(1);
            assertThat(redact.stderrLines()).hasSize(1);
            assertThat(redact.stderrLines().get(0)).startsWith("qlora-stream redact: " + in + ":2: not valid JSON");
        }
        Files.write(in, List.of("{\"text\":\"fine\"}", "[1, 2]"));
        try (JarProcess redact = JarProcess.start("redact", "--in", in.toString())) {
            assertThat(redact.awaitExit(Duration.ofSeconds(60))).isEqualTo(1);
            assertThat(redact.stderrLines()).containsExactly("qlora-stream redact: " + in + ":2: not a JSON object");
        }
        Files.write(in, List.of("{\"body\":\"no text\"}"));
        try (JarProcess redact = JarProcess.start("redact", "--in", in.toString())) {
            assertThat(redact.awaitExit(Duration.ofSeconds(60))).isEqualTo(1);
            assertThat(redact.stderrLines()).containsExactly("qlora-stream redact: " + in + ":1: no string field 'text'");
        }
    }

    @Test
    void readsStandardInputAndWritesStandardOutputByDefault() throws Exception {
        Path jar = Path.of(System.getProperty("qlora.stream.jar", "target/qlora-stream.jar"));
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", jar.toString(), "redact").start();
        try (var stdin = p.getOutputStream()) {
            stdin.write("{\"text\":\"mail a@example.com, call +1-555-867-5309\",\"n\":1}\n".getBytes(StandardCharsets.UTF_8));
        }
        String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8)).isZero();
        assertThat(stdout).isEqualTo("{\"text\":\"mail <EMAIL_1>, call <PHONE_1>\",\"n\":1,\"redactions\":{\"EMAIL\":1,\"PHONE\":1}}\n");
    }

    private static String line(String id, String text) throws Exception {
        var o = JSON.createObjectNode();
        o.put("id", id);
        o.put("customer_name", "Maria Gonzalez");
        o.put("customer_email", "maria.g@example.org");
        o.put("account_id", "ACC-77120");
        o.put("text", text);
        o.put("source", "support");
        return JSON.writeValueAsString(o);
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            names.add(it.next());
        }
        return names;
    }
}
