package io.qlorastream.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.data.ExampleEncoder;
import io.qlorastream.engine.data.PromptResponse;
import io.qlorastream.engine.data.TokenizedExample;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.engine.model.LlamaModel;
import io.qlorastream.engine.model.LlamaWeights;
import io.qlorastream.engine.model.LoadOptions;
import io.qlorastream.engine.model.ModelLoader;
import io.qlorastream.engine.model.ModelMaker;
import io.qlorastream.engine.model.ModelShape;
import io.qlorastream.engine.optim.AdamW;
import io.qlorastream.engine.optim.LrSchedule;
import io.qlorastream.engine.tensor.DType;
import io.qlorastream.engine.tokenizer.ByteLevelBpeWriter;
import io.qlorastream.engine.tokenizer.Tokenizer;
import io.qlorastream.engine.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code evaluate} through the real fat jar: a trained snapshot passes with the full report; a tampered one fails its checksum. */
class EvaluateCommandIT {
    static final String[] ITEMS = {"password", "invoice", "order", "account", "address", "subscription"};

    static PromptResponse example(int i) {
        String item = ITEMS[i % ITEMS.length];
        return new PromptResponse("Customer " + (100 + i) + " asks: how do I change my " + item + "?",
                "Open Settings, then " + item + ", and press change.");
    }

    static String sha256(Path f) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
    }

    @Test
    void printsTheReportAndGatesOnTheVerdict(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("model");
        ModelShape shape = ModelShape.llama(64, 2, 4, 2, 160, 512);
        ByteLevelBpeWriter.write(model, shape.vocabSize());
        try (Tokenizer tok = Tokenizer.load(model)) {
            ModelMaker.write(model, shape, 3, DType.F32, tok.bosId(), tok.eosIds().stream().min(Integer::compare).orElse(null));
        }
        // a snapshot in the store's layout, trained in this process with the engine
        Path snapshot = dir.resolve("store/support/snapshots/s-7");
        try (Tokenizer tok = Tokenizer.load(model); LlamaWeights w = ModelLoader.load(model, LoadOptions.defaults());
             CpuBackend backend = new CpuBackend(2)) {
            ExampleEncoder enc = new ExampleEncoder(tok);
            List<TokenizedExample> ex = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                ex.add(enc.encode(example(i)));
            }
            LoraAdapter a = LoraAdapter.initialize(new LoraConfig(8, 16, 0.0, LoraConfig.ALL_TARGETS, false), w.config, 1);
            new Trainer(new LlamaModel(w, backend), a, ex, new Trainer.Settings(4, 1, 128, 40, 0, 1, LrSchedule.Kind.CONSTANT, 3e-3,
                    3, 0, AdamW.Config.qlora(), 1.0, 0, false)).run(null, null);
            PeftAdapter.save(a, snapshot, model.toString());
        }
        Map<String, String> files = new TreeMap<>();
        for (String f : List.of(PeftAdapter.CONFIG_FILE, PeftAdapter.WEIGHTS_FILE)) {
            files.put(f, sha256(snapshot.resolve(f)));
        }
        ObjectMapper json = new ObjectMapper();
        Files.writeString(snapshot.resolve("manifest.json"), json.writeValueAsString(Map.of("files", files)));
        Path data = dir.resolve("heldout.jsonl");
        StringBuilder lines = new StringBuilder();
        for (int i = 500; i < 512; i++) {
            lines.append(json.writeValueAsString(Map.of("prompt", example(i).prompt(), "response", example(i).response()))).append('\n');
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
        // a bad data line is a one-line error naming it
        Files.writeString(data, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"yo\"}]}\n");
        try (JarProcess p = JarProcess.start("evaluate", "--snapshot", snapshot.toString(), "--model", model.toString(),
                "--data", data.toString())) {
            assertThat(p.awaitExit(Duration.ofSeconds(60))).isEqualTo(1);
            assertThat(p.stderr()).contains("heldout.jsonl:1: evaluate needs");
        }
    }
}
