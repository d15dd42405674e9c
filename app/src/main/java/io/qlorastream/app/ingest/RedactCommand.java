package io.qlorastream.app.ingest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qlorastream.app.cli.ConfigFileOption;
import io.qlorastream.redact.KnownValue;
import io.qlorastream.redact.RedactionResult;
import io.qlorastream.redact.RedactionType;
import io.qlorastream.redact.Redactor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code qlora-stream redact}: the redaction policy as a dry run over JSON Lines, no Kafka. */
@Command(name = "redact",
        description = "Redact PII and secrets in the 'text' field of JSON Lines; adds a 'redactions' object of counts by type.")
public final class RedactCommand implements Callable<Integer> {
    /** Fields whose string values are redacted wherever they recur in the text, as the topology does for an event. */
    static final Map<String, RedactionType> KNOWN_FIELDS = Map.of(
            "customer_name", RedactionType.NAME, "customer_email", RedactionType.EMAIL, "account_id", RedactionType.ACCOUNT_ID);

    @Mixin
    ConfigFileOption configFile;

    @Option(names = "--in", paramLabel = "FILE",
            description = "JSON Lines to read, one object with a string 'text' field per line (default: standard input).")
    Path in;

    @Option(names = "--out", paramLabel = "FILE",
            description = "Where to write the redacted JSON Lines (default: standard output).")
    Path out;

    @Override
    public Integer call() throws IOException {
        String source = in == null ? "<stdin>" : in.toString();
        if (in != null && !Files.isReadable(in)) {
            throw new IllegalArgumentException(in + " (--in): no such readable file");
        }
        ObjectMapper json = new ObjectMapper();
        Redactor redactor = new Redactor();
        try (BufferedReader reader = in == null
                ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
                : Files.newBufferedReader(in, StandardCharsets.UTF_8);
             Writer writer = out == null
                     ? new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8))
                     : Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                writer.write(redactLine(json, redactor, line, source, number));
                writer.write('\n');
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        return 0;
    }

    private static String redactLine(ObjectMapper json, Redactor redactor, String line, String source, int number)
            throws JsonProcessingException {
        JsonNode node;
        try {
            node = json.readTree(line);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(source + ":" + number + ": not valid JSON: " + e.getOriginalMessage());
        }
        if (!(node instanceof ObjectNode object)) {
            throw new IllegalArgumentException(source + ":" + number + ": not a JSON object");
        }
        JsonNode text = object.get("text");
        if (text == null || !text.isTextual()) {
            throw new IllegalArgumentException(source + ":" + number + ": no string field 'text'");
        }
        List<KnownValue> known = new ArrayList<>();
        KNOWN_FIELDS.forEach((field, type) -> {
            JsonNode v = object.get(field);
            if (v != null && v.isTextual() && !v.asText().isBlank()) {
                known.add(new KnownValue(type, v.asText()));
            }
        });
        RedactionResult result = redactor.redact(text.asText(), known);
        object.put("text", result.text()); // replaces in place: the field keeps its position
        ObjectNode counts = object.putObject("redactions");
        result.counts().forEach((type, count) -> counts.put(type.name(), count));
        return json.writeValueAsString(object);
    }
}
