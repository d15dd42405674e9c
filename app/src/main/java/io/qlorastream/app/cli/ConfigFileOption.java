package io.qlorastream.app.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * {@code --config FILE} for commands that talk to no Kafka cluster: the file only supplies
 * {@code qlora.stream.<option>} defaults (read by {@link LayeredDefaults}). Commands that talk to Kafka use
 * {@link KafkaOptions}, whose {@code --config} also passes client settings through.
 */
public final class ConfigFileOption {
    @Option(names = "--config", paramLabel = "FILE",
            description = "A .properties file with qlora.stream.<option> keys for this command's options.")
    Path config;

    /** The file, or null. */
    public Path file() {
        return config;
    }
}
