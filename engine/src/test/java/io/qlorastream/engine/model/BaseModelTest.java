package io.qlorastream.engine.model;

import io.qlorastream.engine.compute.Backend;
import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.config.Projection;
import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.data.ExampleEncoder;
import io.qlorastream.engine.quant.Nf4Tensor;
import io.qlorastream.engine.tensor.DType;
import io.qlorastream.engine.tokenizer.ByteLevelBpeWriter;
import io.qlorastream.engine.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A make-model directory opened as one value, and closed as one: backend first, then the checkpoint files. */
class BaseModelTest {

    static Path tinyModel(Path dir) throws IOException {
        ModelShape shape = ModelShape.preset("tiny");
        ByteLevelBpeWriter.write(dir, shape.vocabSize());
        Integer bos, eos;
        try (Tokenizer tok = Tokenizer.load(dir)) {
            bos = tok.bosId();
            eos = tok.eosIds().stream().min(Integer::compare).orElse(null);
        }
        ModelMaker.write(dir, shape, 3, DType.BF16, bos, eos);
        return dir;
    }

    /** Whether this process holds {@code file} open (Linux: a link in /proc/self/fd). */
    static boolean isOpen(Path file) throws IOException {
        Path real = file.toRealPath();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.anyMatch(fd -> {
                try {
                    return Files.readSymbolicLink(fd).equals(real);
                } catch (IOException | UnsupportedOperationException e) {
                    return false; // the listing's own descriptor, already closed
                }
            });
        }
    }

    /** A CPU backend that records, when it is closed, whether the model's checkpoint was still open. */
    static Backend recording(Path checkpoint, List<String> events) {
        CpuBackend cpu = new CpuBackend(1);
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[]{Backend.class}, (p, m, args) -> {
            if (m.getName().equals("close")) {
                events.add("backend closed, checkpoint " + (isOpen(checkpoint) ? "open" : "closed"));
            }
            try {
                return m.invoke(cpu, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }

    @Test
    void opensConfigTokenizerNf4WeightsAndBackendAndClosesThemTogether(@TempDir Path tmp) throws Exception {
        assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")), "no /proc/self/fd to see open files");
        Path dir = tinyModel(tmp.resolve("tiny"));
        Path checkpoint = dir.resolve("model.safetensors");
        List<String> events = new ArrayList<>();
        BaseModel base = BaseModel.open(dir, () -> recording(checkpoint, events));
        try {
            assertThat(base.dir()).isEqualTo(dir);
            assertThat(base.config()).isEqualTo(LlamaConfig.read(dir));
            assertThat(base.tokenizer().vocabSize()).isEqualTo(base.config().vocabSize());
            for (LayerWeights layer : base.weights().layers) {
                for (Projection p : Projection.values()) {
                    assertThat(layer.projection(p).weight).as(p.name()).isInstanceOf(Nf4Tensor.class);
                }
            }
            assertThat(base.eosIds()).containsAll(base.tokenizer().eosIds()).containsAll(base.config().eosTokenIds());
            int[] prompt = new ExampleEncoder(base.tokenizer()).encodePrompt("Hello");
            int[] out = new Generator(base.model()).generate(prompt, 3, Set.of(), Sampling.greedy(), t -> { });
            assertThat(out).hasSize(3);
            assertThat(isOpen(checkpoint)).isTrue();
        } finally {
            base.close();
        }
        assertThat(events).containsExactly("backend closed, checkpoint open");
        assertThat(isOpen(checkpoint)).isFalse();
    }

    @Test
    void aModelWithoutTokenizerOpensForTheWeightsAndNamesTheMissingFileWhenAskedForIt(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("bare");
        ModelMaker.write(dir, ModelShape.llama(32, 2, 4, 2, 48, 64), 5, DType.F32);
        try (BaseModel base = BaseModel.open(dir, () -> new CpuBackend(1))) {
            assertThat(base.config().hiddenSize()).isEqualTo(32);
            assertThatThrownBy(base::tokenizer).hasMessage("no tokenizer.json in " + dir);
        }
    }

    @Test
    void aModelThatFailsToLoadOpensNoBackendAndKeepsNoFileOpen(@TempDir Path tmp) throws Exception {
        Path dir = tinyModel(tmp.resolve("broken"));
        Path file = dir.resolve("model.safetensors");
        String up = "model.layers.0.mlp.up_proj.weight";
        Path whole = Files.move(file, tmp.resolve("whole.safetensors"));
        CheckpointCopy.copy(whole, file, n -> !n.equals(up), n -> null);
        List<String> events = new ArrayList<>();
        assertThatThrownBy(() -> BaseModel.open(dir, () -> {
            events.add("backend opened");
            return new CpuBackend(1);
        })).isInstanceOf(IOException.class).hasMessage("missing tensor " + up + " in " + file);
        assertThat(events).isEmpty();
        if (Files.isDirectory(Path.of("/proc/self/fd"))) {
            assertThat(isOpen(file)).isFalse();
        }
    }
}
