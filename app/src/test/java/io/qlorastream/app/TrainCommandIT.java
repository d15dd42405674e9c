package io.qlorastream.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** make-model → train → generate/score --adapter, resume and Ctrl-C, through the real fat jar. */
class TrainCommandIT {

    static JarProcess ok(String... args) throws Exception {
        JarProcess p = JarProcess.start(args);
        assertThat(p.awaitExit(Duration.ofSeconds(300))).as(String.join(" ", args) + "\n" + p.stderr()).isZero();
        return p;
    }

    @Test
    void trainsAnAdapterThatGenerateAndScoreUse(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("tiny");
        ok("make-model", "--out", model.toString(), "--preset", "tiny", "--seed", "3").close();
        Path data = dir.resolve("data.jsonl");
        Files.writeString(data, """
                {"prompt": "Colour of the sky?", "response": "blue"}
                {"prompt": "Capital of France?", "response": "Paris"}
                {"prompt": "Two plus two?", "response": "four"}
                """);
        Path out = dir.resolve("adapter");
        try (JarProcess p = ok("train", "--model", model.toString(), "--data", data.toString(), "--out", out.toString(),
                "--r", "16", "--lora-alpha", "32", "--lora-dropout", "0", "--lr", "3e-3", "--warmup-steps", "3",
                "--max-grad-norm", "1", "--batch-size", "3", "--steps", "60", "--threads", "2")) {
            assertThat(p.stdout()).contains("training 3 examples (0 truncated").contains("step 60/60").contains("done after 60 steps");
        }
        for (String f : List.of("adapter_config.json", "adapter_model.safetensors", "training_log.jsonl",
                "checkpoint/training_state.json", "checkpoint/optimizer.safetensors")) {
            assertThat(out.resolve(f)).isRegularFile();
        }
        ObjectMapper json = new ObjectMapper();
        List<String> log = Files.readAllLines(out.resolve("training_log.jsonl"));
        assertThat(log).hasSize(60);
        double first = json.readTree(log.get(0)).get("loss").asDouble();
        double last = json.readTree(log.get(59)).get("loss").asDouble();
        // make-model's frozen lm_head (std 0.02) bounds the logits, so the loss floor is ≈ 4.3 (see TrainerTest):
        // assert a perplexity fall of at least 10×
        assertThat(first - last).as("loss %s -> %s", first, last).isGreaterThan(Math.log(10));
        JsonNode cfg = json.readTree(out.resolve("adapter_config.json").toFile());
        assertThat(cfg.get("r").asInt()).isEqualTo(16);

        try (JarProcess p = ok("generate", "--model", model.toString(), "--adapter", out.toString(),
                "--prompt", "Capital of France?", "--max-new-tokens", "6", "--threads", "2")) {
            assertThat(p.stdout().strip()).isEqualTo("Paris");
        }
        double withAdapter, without;
        try (JarProcess p = ok("score", "--model", model.toString(), "--adapter", out.toString(), "--data", data.toString(), "--json")) {
            withAdapter = json.readTree(p.stdout()).get("overall").get("mean_nll").asDouble();
        }
        try (JarProcess p = ok("score", "--model", model.toString(), "--data", data.toString(), "--json")) {
            without = json.readTree(p.stdout()).get("overall").get("mean_nll").asDouble();
        }
        assertThat(without - withAdapter).isGreaterThan(Math.log(10));

        // resume with another seed or batch size: one line naming each, exit 1, nothing written
        JarProcess refused = JarProcess.start("train", "--model", model.toString(), "--data", data.toString(), "--out",
                out.toString(), "--r", "16", "--lora-alpha", "32", "--lora-dropout", "0", "--lr", "3e-3", "--warmup-steps", "3",
                "--max-grad-norm", "1", "--batch-size", "2", "--seed", "7", "--steps", "64", "--resume");
        assertThat(refused.awaitExit(Duration.ofSeconds(120))).isEqualTo(1);
        assertThat(refused.stderr().strip()).doesNotContain("\n")
                .contains("cannot resume: the state was saved with --seed 42, --batch-size 3; this run has --seed 7, --batch-size 2");
        refused.close();
        assertThat(Files.readAllLines(out.resolve("training_log.jsonl"))).hasSize(60);

        // resume: 4 more steps on top of the saved state, same settings, continue the log
        ok("train", "--model", model.toString(), "--data", data.toString(), "--out", out.toString(), "--r", "16",
                "--lora-alpha", "32", "--lora-dropout", "0", "--lr", "3e-3", "--warmup-steps", "3", "--max-grad-norm", "1",
                "--batch-size", "3", "--steps", "64", "--resume").close();
        assertThat(Files.readAllLines(out.resolve("training_log.jsonl"))).hasSize(64);

        // --init-adapter starts from the trained adapter: its first step already has the trained loss
        Path out2 = dir.resolve("adapter2");
        ok("train", "--model", model.toString(), "--data", data.toString(), "--out", out2.toString(), "--init-adapter",
                out.toString(), "--lora-dropout", "0", "--batch-size", "3", "--steps", "1", "--lr", "1e-9").close();
        double continued = json.readTree(Files.readAllLines(out2.resolve("training_log.jsonl")).get(0)).get("loss").asDouble();
        assertThat(continued).isCloseTo(withAdapter, org.assertj.core.data.Offset.offset(1e-3));

        // bench train: figures reported against sgemm measured in the same run
        try (JarProcess p = ok("bench", "train", "--model", model.toString(), "--seq-len", "32", "--r", "8", "--steps", "1",
                "--threads", "2")) {
            assertThat(p.stdout()).contains("train step       [1 x 32] tokens").contains("model FLOPs").contains("train / peak").contains("peak RSS");
        }

        // bad input: one line naming the option, exit 1
        JarProcess bad = JarProcess.start("train", "--model", model.toString(), "--data", data.toString(), "--out",
                dir.resolve("x").toString(), "--batch-size", "0");
        assertThat(bad.awaitExit(Duration.ofSeconds(60))).isEqualTo(1);
        assertThat(bad.stderr()).contains("--batch-size");
    }

    @Test
    void sigtermSavesAResumableState(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("tiny");
        ok("make-model", "--out", model.toString(), "--preset", "tiny", "--seed", "4").close();
        Path data = dir.resolve("data.jsonl");
        Files.writeString(data, "{\"prompt\": \"hello\", \"response\": \"world\"}\n");
        Path out = dir.resolve("adapter");
        JarProcess p = JarProcess.start("train", "--model", model.toString(), "--data", data.toString(), "--out",
                out.toString(), "--r", "4", "--steps", "100000", "--threads", "1");
        p.awaitStdout("step 3/", Duration.ofSeconds(120));
        p.terminate(Duration.ofSeconds(60));
        assertThat(p.stdout()).contains("stopped (resume with --resume)");
        JsonNode state = new ObjectMapper().readTree(out.resolve("checkpoint/training_state.json").toFile());
        long step = state.get("step").asLong();
        assertThat(step).isGreaterThanOrEqualTo(3);
        assertThat(Files.readAllLines(out.resolve("training_log.jsonl"))).hasSize((int) step);
        p.close();
    }
}
