package io.qlorastream.app;

import io.qlorastream.engine.config.Projection;
import io.qlorastream.engine.model.LlamaWeights;
import io.qlorastream.engine.model.LoadOptions;
import io.qlorastream.engine.model.ModelLoader;
import io.qlorastream.engine.model.ModelMaker;
import io.qlorastream.engine.model.ModelShape;
import io.qlorastream.engine.model.QuantizedCheckpoint;
import io.qlorastream.engine.quant.Nf4Tensor;
import io.qlorastream.engine.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** Runs `qlora-stream quantize` from the real fat jar on a made model and loads what it wrote. */
class QuantizeCommandIT {

    @Test
    void quantizeWritesABitsandbytesCheckpointThatLoadsToTheSameWeights(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("model");
        ModelMaker.write(model, ModelShape.preset("tiny"), 1, DType.BF16);
        Files.writeString(model.resolve("tokenizer_config.json"), "{}");
        Path out = dir.resolve("quantized");
        try (JarProcess p = JarProcess.start("quantize", "--model", model.toString(), "--out", out.toString())) {
            assertThat(p.awaitExit(Duration.ofSeconds(120))).as(p.stderr()).isZero();
            assertThat(p.stdout()).contains("Quantized 28 projections").containsPattern("4\\.12\\d bits per parameter"); // 4 + 8/64 + nested statistics
        }
        assertThat(out.resolve("tokenizer_config.json")).hasContent("{}");
        assertThat(QuantizedCheckpoint.quantizationConfig(out).get("load_in_4bit").asBoolean()).isTrue();
        try (LlamaWeights a = ModelLoader.load(model, LoadOptions.defaults());
             LlamaWeights b = ModelLoader.load(out, LoadOptions.defaults())) {
            for (int i = 0; i < a.layers.length; i++) {
                for (Projection proj : Projection.values()) {
                    assertThat(((Nf4Tensor) b.layers[i].projection(proj).weight).packed())
                            .isEqualTo(((Nf4Tensor) a.layers[i].projection(proj).weight).packed());
                }
            }
        }

        Path plain = dir.resolve("plain");
        try (JarProcess p = JarProcess.start("quantize", "--model", model.toString(), "--out", plain.toString(),
                "--block-size", "128", "--no-double-quant")) {
            assertThat(p.awaitExit(Duration.ofSeconds(120))).as(p.stderr()).isZero();
            assertThat(p.stdout()).contains("4.250 bits per parameter");
        }
    }

    @Test
    void aMissingModelIsOneLineNamingIt(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("nothing-here");
        try (JarProcess p = JarProcess.start("quantize", "--model", missing.toString(), "--out", dir.resolve("o").toString())) {
            assertThat(p.awaitExit(Duration.ofSeconds(60))).isEqualTo(1);
            assertThat(p.stderrLines()).containsExactly("qlora-stream quantize: no config.json in " + missing);
        }
        try (JarProcess p = JarProcess.start("quantize", "--model", dir.toString(), "--out", dir.resolve("o").toString(),
                "--block-size", "63")) {
            assertThat(p.awaitExit(Duration.ofSeconds(60))).isEqualTo(2);
            assertThat(p.stderrLines().get(0)).contains("--block-size must be a positive even number, got 63");
        }
    }
}
