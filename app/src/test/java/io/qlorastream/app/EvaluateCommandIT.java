package io.qlorastream.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.engine.lora.PeftAdapter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code evaluate} through the real fat jar: a trained snapshot passes with the full report; a tampered one fails its checksum. */
class EvaluateCommandIT {
    @Test
    void printsTheReportAndGatesOnTheVerdict(@TempDir Path dir) throws Exception {
        Path model = TinySnapshots.model(dir.resolve("model"));
        Path snapshot = Path.of(TinySnapshots.train(model, dir.resolve("store"), "support/snapshots/s-7").uri());
        ObjectMapper json = new ObjectMapper();
        Path data = dir.resolve("heldout.jsonl");
        StringBuilder lines = new StringBuilder();
        for (int i = 500; i < 512; i++) {
            lines.append(json.writeValueAsString(Map.of("prompt", TinySnapshots.example(i).prompt(), "response", TinySnapshots.example(i).response()))).append('\n');
        }
        Files.writeString(data, lines);

        try (JarProcess p = JarProcess.start("evaluate", "--snapshot", snapshot.toString(), "--model", model.toString(),
                "--data", data.toString(), "--threads", "2")) {
            assertThat(p.awaitExit(Duration.ofSeconds(120))).as(p.stderr()).isZero();
            String out = p.stdout();
            assertThat(out).contains("of support snapshot s-7").contains("PASSED").contains("(12 examples)");
            assertThat(out).containsPattern("candidate_nll\\s+\\d+\\.\\d{4}").containsPattern("general_base_nll\\s+\\d");
            for (String check : List.of("checksum", "loadable", "beats_base", "general_forgetting", "no_leak")) {
                assertThat(out).containsPattern("ok\\s+" + check + "\\s+value");
            }
            assertThat(out).contains("reason: passed: held-out NLL");
            assertThat(p.stderr()).contains("candidate held-out NLL 3/3").contains("leak probe 12/12");
        }
        // --json: the AdapterEvaluation event itself
        try (JarProcess p = JarProcess.start("evaluate", "--snapshot", snapshot.toString(), "--model", model.toString(),
                "--data", data.toString(), "--threads", "2", "--json", "--min-margin", "50")) {
            assertThat(p.awaitExit(Duration.ofSeconds(120))).as(p.stderr()).isEqualTo(1);
            JsonNode e = json.readTree(p.stdout());
            assertThat(e.get("passed").asBoolean()).isFalse();
            assertThat(e.get("reason").asText()).startsWith("failed beats_base");
            assertThat(e.get("heldout_set_size").asInt()).isEqualTo(12);
        }
        // one flipped byte in the weights: the checksum check fails and nothing is scored
        try (RandomAccessFile raf = new RandomAccessFile(snapshot.resolve(PeftAdapter.WEIGHTS_FILE).toFile(), "rw")) {
            raf.seek(raf.length() - 3);
            raf.write(0x55);
        }
        try (JarProcess p = JarProcess.start("evaluate", "--snapshot", snapshot.toString(), "--model", model.toString(),
                "--data", data.toString(), "--threads", "2")) {
            assertThat(p.awaitExit(Duration.ofSeconds(120))).as(p.stderr()).isEqualTo(1);
            assertThat(p.stdout()).contains("FAILED").containsPattern("FAIL\\s+checksum")
                    .contains("reason: failed checksum: adapter_model.safetensors: SHA-256");
            assertThat(p.stdout()).doesNotContain("candidate_nll");
        }
        // a bad option value is a usage error naming the option
        try (JarProcess p = JarProcess.start("evaluate", "--snapshot", snapshot.toString(), "--model", model.toString(),
                "--data", data.toString(), "--leak-types", "EMAIL,NOPE")) {
            assertThat(p.awaitExit(Duration.ofSeconds(60))).isEqualTo(2);
            assertThat(p.stderr()).contains("--leak-types: unknown type NOPE");
        }
        // a bad data line is a one-line error naming it
        Files.writeString(data, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"yo\"}]}\n");
        try (JarProcess p = JarProcess.start("evaluate", "--snapshot", snapshot.toString(), "--model", model.toString(),
                "--data", data.toString())) {
            assertThat(p.awaitExit(Duration.ofSeconds(60))).isEqualTo(1);
            assertThat(p.stderr()).contains("heldout.jsonl:1: evaluate needs");
        }
    }
}
