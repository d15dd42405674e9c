package io.qlorastream.engine.model;

import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.compute.Backend;
import io.qlorastream.engine.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.function.Supplier;

/**
 * A frozen base model directory opened for use: its config, its tokenizer, its weights (the decoder blocks' projections
 * in NF4, {@link LoadOptions#defaults()}) and the backend that computes with them, closed together.
 */
public final class BaseModel implements AutoCloseable {
    private final Path dir;
    private final Tokenizer tokenizer;
    private final LlamaWeights weights;
    private final Backend backend;

    private BaseModel(Path dir, Tokenizer tokenizer, LlamaWeights weights, Backend backend) {
        this.dir = dir;
        this.tokenizer = tokenizer;
        this.weights = weights;
        this.backend = backend;
    }

    /**
     * Opens {@code dir}: the tokenizer (when the directory has a {@code tokenizer.json}; a benchmark's model may have
     * none), then the weights, then the backend {@code backend} opens, which the base model owns from then on. On
     * failure whatever was opened is closed again, and the backend is opened only once the weights have loaded.
     */
    public static BaseModel open(Path dir, Supplier<? extends Backend> backend) throws IOException {
        Tokenizer tokenizer = Files.isRegularFile(dir.resolve("tokenizer.json")) ? Tokenizer.load(dir) : null;
        LlamaWeights weights = null;
        try {
            weights = ModelLoader.load(dir, LoadOptions.defaults());
            return new BaseModel(dir, tokenizer, weights, backend.get());
        } catch (IOException | RuntimeException | Error e) {
            try (Tokenizer t = tokenizer; LlamaWeights w = weights) {
                throw e;
            }
        }
    }

    public Path dir() {
        return dir;
    }

    public LlamaConfig config() {
        return weights.config;
    }

    /** The directory's tokenizer; throws IllegalStateException naming the directory when it has none. */
    public Tokenizer tokenizer() {
        if (tokenizer == null) {
            throw new IllegalStateException("no tokenizer.json in " + dir);
        }
        return tokenizer;
    }

    public LlamaWeights weights() {
        return weights;
    }

    public Backend backend() {
        return backend;
    }

    /** A model over the frozen weights on this backend, no adapter attached; any number share the weights. */
    public LlamaModel model() {
        return new LlamaModel(weights, backend);
    }

    /** The ids generation stops at: the tokenizer's end-of-sequence tokens, then the config's. */
    public Set<Integer> eosIds() {
        Set<Integer> eos = new LinkedHashSet<>(tokenizer().eosIds());
        eos.addAll(weights.config.eosTokenIds());
        return eos;
    }

    /**
     * Closes the backend first (it may still hold work or device copies of the weights), then the weights' checkpoint
     * files, then the tokenizer; a failure to close one does not keep the others open.
     */
    @Override
    public void close() {
        try (Tokenizer t = tokenizer; LlamaWeights w = weights; Backend b = backend) {
            // try-with-resources closes them in reverse order
        }
    }
}
