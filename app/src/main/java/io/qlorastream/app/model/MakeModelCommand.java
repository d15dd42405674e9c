package io.qlorastream.app.model;

import io.qlorastream.app.cli.ConfigFileOption;
import io.qlorastream.engine.model.ModelMaker;
import io.qlorastream.engine.model.ModelShape;
import io.qlorastream.engine.tensor.DType;
import io.qlorastream.engine.tokenizer.ByteLevelBpeWriter;
import io.qlorastream.engine.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code qlora-stream make-model}: a random-initialised Llama model in real Hugging Face format, for tests and demos. */
@Command(name = "make-model",
        description = "Write a random-initialised Llama-family model in Hugging Face format (config.json, model.safetensors, "
                + "generation_config.json, a byte-level BPE tokenizer.json and tokenizer_config.json); deterministic for a seed.")
public final class MakeModelCommand implements Callable<Integer> {

    enum Dtype { f32, bf16 }

    @Mixin
    ConfigFileOption configFile;

    @Option(names = "--out", paramLabel = "DIR", required = true, description = "Directory to write the model into (required).")
    Path out;

    @Option(names = "--preset", paramLabel = "NAME", defaultValue = "tiny",
            description = "tiny (≈1M parameters), small (≈20M), base (≈110M), 1b (TinyLlama's shape) (default: ${DEFAULT-VALUE}).")
    String preset;

    @Option(names = "--hidden", paramLabel = "N", description = "Hidden size (default: the preset's).")
    Integer hidden;

    @Option(names = "--layers", paramLabel = "N", description = "Decoder layers (default: the preset's).")
    Integer layers;

    @Option(names = "--heads", paramLabel = "N", description = "Attention heads (default: the preset's).")
    Integer heads;

    @Option(names = "--kv-heads", paramLabel = "N", description = "Key/value heads, GQA (default: the preset's).")
    Integer kvHeads;

    @Option(names = "--intermediate", paramLabel = "N", description = "MLP intermediate size (default: the preset's).")
    Integer intermediate;

    @Option(names = "--vocab-size", paramLabel = "N", description = "Vocabulary size, tokenizer included (default: the preset's).")
    Integer vocabSize;

    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "bf16",
            description = "Weight dtype: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    Dtype dtype;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws IOException {
        ModelShape p = ModelShape.preset(preset);
        ModelShape shape = new ModelShape(or(hidden, p.hidden()), or(layers, p.layers()), or(heads, p.heads()),
                or(kvHeads, p.kvHeads()), or(intermediate, p.intermediate()), or(vocabSize, p.vocabSize()),
                p.tieWordEmbeddings(), p.architecture(), p.attentionBias(), p.mlpBias());
        ByteLevelBpeWriter.write(out, shape.vocabSize());
        Integer bos;
        Integer eos;
        try (Tokenizer tokenizer = Tokenizer.load(out)) {
            bos = tokenizer.bosId();
            eos = tokenizer.eosIds().stream().min(Integer::compare).orElse(null);
        }
        ModelMaker.write(out, shape, seed, dtype == Dtype.f32 ? DType.F32 : DType.BF16, bos, eos);
        PrintStream stdout = System.out;
        stdout.printf(Locale.ROOT, "Wrote %s: %,d parameters (hidden %d, %d layers, %d heads, %d KV heads, intermediate %d, vocab %d, %s, seed %d)%n",
                out, shape.parameterCount(), shape.hidden(), shape.layers(), shape.heads(), shape.kvHeads(),
                shape.intermediate(), shape.vocabSize(), dtype, seed);
        stdout.flush();
        return 0;
    }

    private static int or(Integer value, int fallback) {
        return value == null ? fallback : value;
    }
}
