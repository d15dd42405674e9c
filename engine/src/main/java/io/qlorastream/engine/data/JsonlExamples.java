package io.qlorastream.engine.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.engine.tokenizer.ChatMessage;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads JSON Lines data files: one example a line, blank lines skipped; a bad line names the file and line. */
public final class JsonlExamples {
    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonlExamples() {
    }

    public static List<Example> read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("data file " + file + " does not exist");
        }
        List<Example> examples = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int lineNo = 0;
            while ((line = r.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                try {
                    examples.add(parse(line));
                } catch (IllegalArgumentException e) {
                    throw new ExampleFormatException(file + ":" + lineNo + ": " + e.getMessage());
                }
            }
        } catch (java.nio.charset.MalformedInputException e) {
            throw new ExampleFormatException(file + ": not valid UTF-8");
        }
        return examples;
    }

    /** Parses one line; IllegalArgumentException says what is wrong with it. */
    public static Example parse(String line) {
        JsonNode n;
        try {
            n = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (n == null || !n.isObject()) {
            throw new IllegalArgumentException("expected a JSON object");
        }
        if (n.has("input_ids")) {
            int[] ids = ints(n.get("input_ids"), "input_ids");
            // without labels every token is a target, as transformers does for causal LM data
            int[] labels = n.has("labels") ? ints(n.get("labels"), "labels") : ids.clone();
            if (labels.length != ids.length) {
                throw new IllegalArgumentException("labels has " + labels.length + " entries but input_ids has " + ids.length);
            }
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] < 0) {
                    throw new IllegalArgumentException("\"input_ids\"[" + i + "] is negative");
                }
                if (labels[i] < 0 && labels[i] != TokenizedExample.IGNORE) {
                    throw new IllegalArgumentException("\"labels\"[" + i + "] is " + labels[i] + "; only -100 (ignored) may be negative");
                }
            }
            return new PreTokenized(ids, labels);
        }
        if (n.has("messages")) {
            JsonNode msgs = n.get("messages");
            if (!msgs.isArray() || msgs.isEmpty()) {
                throw new IllegalArgumentException("\"messages\" must be a non-empty array");
            }
            List<ChatMessage> out = new ArrayList<>();
            for (JsonNode m : msgs) {
                if (!m.path("role").isTextual() || !m.path("content").isTextual()) {
                    throw new IllegalArgumentException("each message needs string \"role\" and \"content\"");
                }
                out.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
            }
            return new ChatExample(out);
        }
        if (n.has("prompt") || n.has("response")) {
            if (!n.path("prompt").isTextual() || !n.path("response").isTextual()) {
                throw new IllegalArgumentException("\"prompt\" and \"response\" must both be strings");
            }
            return new PromptResponse(n.get("prompt").asText(), n.get("response").asText());
        }
        throw new IllegalArgumentException("expected {\"prompt\",\"response\"}, {\"messages\"} or {\"input_ids\",\"labels\"}");
    }

    private static int[] ints(JsonNode a, String field) {
        if (!a.isArray()) {
            throw new IllegalArgumentException("\"" + field + "\" must be an array of integers");
        }
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            if (!a.get(i).canConvertToInt()) {
                throw new IllegalArgumentException("\"" + field + "\"[" + i + "] is not an integer");
            }
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    /** A data file line that is not a valid example; the message starts with file:line. */
    public static final class ExampleFormatException extends IOException {
        public ExampleFormatException(String message) {
            super(message);
        }
    }
}
