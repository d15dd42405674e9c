package io.qlorastream.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.data.Example;
import io.qlorastream.engine.data.ExampleEncoder;
import io.qlorastream.engine.data.JsonlExamples;
import io.qlorastream.engine.data.TokenizedExample;
import io.qlorastream.engine.model.BaseModel;
import io.qlorastream.engine.model.Generator;
import io.qlorastream.engine.model.Sampling;
import io.qlorastream.engine.model.Scorer;
import io.qlorastream.engine.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** make-model → generate → score → bench forward through the real fat jar, checked against the engine in process. */
class ModelCommandsIT {

    static JarProcess ok(String... args) throws Exception {
        JarProcess p = JarProcess.start(args);
        assertThat(p.awaitExit(Duration.ofSeconds(180))).as(String.join(" ", args) + "\n" + p.stderr()).isZero();
        return p;
    }

    @Test
    void makeModelThenGenerateAndScoreIt(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("tiny");
        try (JarProcess p = ok("make-model", "--out", model.toString(), "--preset", "tiny", "--seed", "3")) {
            assertThat(p.stdout()).startsWith("Wrote " + model).contains("vocab 1024");
        }
        for (String f : List.of("config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "tokenizer_config.json")) {
            assertThat(model.resolve(f)).isRegularFile();
        }
        Path custom = dir.resolve("custom");
        ok("make-model", "--out", custom.toString(), "--preset", "small", "--hidden", "64", "--layers", "2", "--heads", "4",
                "--kv-heads", "1", "--intermediate", "100", "--vocab-size", "300", "--dtype", "f32").close();
        io.qlorastream.engine.config.LlamaConfig cc = io.qlorastream.engine.config.LlamaConfig.read(custom);
        assertThat(List.of(cc.hiddenSize(), cc.numLayers(), cc.numHeads(), cc.numKvHeads(), cc.intermediateSize(), cc.vocabSize()))
                .containsExactly(64, 2, 4, 1, 100, 300);
        assertThat(cc.torchDtype()).isEqualTo("float32");
        try (Tokenizer tok = Tokenizer.load(custom)) {
            assertThat(tok.vocabSize()).isEqualTo(300);
            assertThat(cc.bosTokenId()).isEqualTo(tok.bosId());
            assertThat(cc.eosTokenIds()).containsExactlyElementsOf(tok.eosIds());
        }
        Path again = dir.resolve("again");
        ok("make-model", "--out", again.toString(), "--preset", "tiny", "--seed", "3").close();
        assertThat(Files.readAllBytes(again.resolve("model.safetensors"))).isEqualTo(Files.readAllBytes(model.resolve("model.safetensors")));

        // generate: what the jar streams is what the engine generates in process (greedy)
        String expected;
        try (BaseModel base = BaseModel.open(model, () -> new CpuBackend(1))) {
            Tokenizer tok = base.tokenizer();
            Set<Integer> eos = new HashSet<>(tok.eosIds());
            eos.addAll(base.config().eosTokenIds());
            int[] out = new Generator(base.model()).generate(new ExampleEncoder(tok).encodePrompt("Say hello"),
                    12, eos, Sampling.greedy(), t -> { });
            expected = tok.decode(out);
        }
        try (JarProcess p = ok("generate", "--model", model.toString(), "--prompt", "Say hello", "--max-new-tokens", "12")) {
            assertThat(p.stdout().stripTrailing()).isEqualTo(String.join("\n", expected.lines().toList()).stripTrailing());
        }

        // score: the JSON matches the in-process scorer
        Path data = dir.resolve("data.jsonl");
        Files.writeString(data, """
                {"prompt": "What is 2+2?", "response": "4"}
                {"prompt": "Name a colour.", "response": "Blue, like the sky."}
                {"input_ids": [5, 6, 7, 8, 9], "labels": [-100, -100, 7, 8, 9]}
                """);
        Scorer.Result ref;
        try (BaseModel base = BaseModel.open(model, () -> new CpuBackend(1))) {
            List<int[]> ids = new ArrayList<>();
            List<int[]> labels = new ArrayList<>();
            for (Example e : JsonlExamples.read(data)) {
                TokenizedExample t = new ExampleEncoder(base.tokenizer()).encode(e);
                ids.add(t.inputIds());
                labels.add(t.labels());
            }
            ref = new Scorer(base.model(), 1).score(ids, labels);
        }
        try (JarProcess p = ok("score", "--model", model.toString(), "--data", data.toString(), "--json")) {
            JsonNode json = new ObjectMapper().readTree(p.stdout());
            assertThat(json.get("examples")).hasSize(3);
            assertThat(json.at("/examples/2/target_tokens").asInt()).isEqualTo(3);
            for (int i = 0; i < 3; i++) {
                assertThat(json.at("/examples/" + i + "/mean_nll").asDouble()).isCloseTo(ref.examples().get(i).meanNll(), within(1e-4));
            }
            assertThat(json.at("/overall/target_tokens").asLong()).isEqualTo(ref.targetTokens());
            double nll = json.at("/overall/mean_nll").asDouble();
            assertThat(nll).isCloseTo(ref.meanNll(), within(1e-4)).isGreaterThan(0);
            assertThat(json.at("/overall/perplexity").asDouble()).isCloseTo(Math.exp(nll), within(1e-6 * Math.exp(nll)));
        }
        try (JarProcess p = ok("score", "--model", model.toString(), "--data", data.toString())) {
            assertThat(p.stdout()).contains("data.jsonl:1 ").contains("overall  3 examples");
        }
        Files.writeString(data, "{\"prompt\": \"a\", \"response\": \"b\"}\n{not json\n");
        try (JarProcess p = JarProcess.start("score", "--model", model.toString(), "--data", data.toString())) {
            assertThat(p.awaitExit(Duration.ofSeconds(120))).isEqualTo(1);
            assertThat(p.stderrLines()).hasSize(1);
            assertThat(p.stderrLines().get(0)).contains(data + ":2");
        }

        try (JarProcess p = ok("bench", "forward", "--model", model.toString(), "--seq-len", "32", "--decode-tokens", "4",
                "--repeats", "1")) {
            assertThat(p.stdout()).contains("prefill          32 tokens").contains("decode           4 tokens")
                    .contains("prefill / peak").containsPattern("peak RSS +[0-9,]+ bytes");
        }
    }
}
