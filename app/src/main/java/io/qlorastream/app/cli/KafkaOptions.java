package io.qlorastream.app.cli;

import io.qlorastream.schemas.OneLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * The connection options of every command that talks to Kafka, as a picocli mixin. Kafka client settings
 * (SASL, TLS, timeouts) come from the {@code --config} file unchanged, and from environment variables
 * {@code QLORA_STREAM_KAFKA_<KEY>} ({@code QLORA_STREAM_KAFKA_SASL_MECHANISM} → {@code sasl.mechanism}) for
 * containers; {@code qlora.stream.*} keys of the file are our own settings and are not passed to Kafka.
 */
public final class KafkaOptions {
    /** Environment variables with this prefix set Kafka client keys ({@code QLORA_STREAM_KAFKA_SASL_MECHANISM}). */
    public static final String KAFKA_ENV_PREFIX = LayeredDefaults.ENV_PREFIX + "KAFKA_";

    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT[,...]", defaultValue = "127.0.0.1:9092",
            description = "Kafka bootstrap servers (default: ${DEFAULT-VALUE}).")
    String bootstrapServers;

    @Option(names = "--schema-registry-url", paramLabel = "URL", defaultValue = "http://127.0.0.1:8081",
            description = "Schema Registry URL (default: ${DEFAULT-VALUE}).")
    String schemaRegistryUrl;

    @Option(names = "--config", paramLabel = "FILE",
            description = "A .properties file: Kafka client settings passed through unchanged (SASL, TLS...), "
                    + "and qlora.stream.<option> keys for this command's options.")
    Path config;

    public String bootstrapServers() {
        return bootstrapServers;
    }

    public String schemaRegistryUrl() {
        return schemaRegistryUrl;
    }

    /** The {@code --config} file, or null: commands read their own {@code qlora.stream.*} settings from it. */
    public Path configFile() {
        return config;
    }

    /** Properties for Kafka clients: file, then environment, then the resolved bootstrap servers and registry URL. */
    public Properties clientProperties() {
        return clientProperties(System.getenv());
    }

    Properties clientProperties(Map<String, String> env) {
        Properties p = clientSettings(spec.commandLine(), config, env);
        p.setProperty("bootstrap.servers", bootstrapServers);
        p.setProperty("schema.registry.url", schemaRegistryUrl);
        return p;
    }

    /**
     * The Kafka client settings a command passes through: every key of {@code config} (may be null) that is not one
     * of ours ({@code qlora.stream.*}), then {@code QLORA_STREAM_KAFKA_<KEY>} variables of {@code env}.
     */
    public static Properties clientSettings(CommandLine command, Path config, Map<String, String> env) {
        Properties p = new Properties();
        if (config != null) {
            Properties file = new Properties();
            try (Reader r = Files.newBufferedReader(config)) {
                file.load(r);
            } catch (IOException | IllegalArgumentException e) {
                throw new ParameterException(command, "--config: cannot read " + config + " (" + OneLine.of(e) + ")");
            }
            file.stringPropertyNames().stream()
                    .filter(k -> !k.startsWith(LayeredDefaults.FILE_PREFIX))
                    .forEach(k -> p.setProperty(k, file.getProperty(k)));
        }
        env.forEach((k, v) -> {
            if (k.startsWith(KAFKA_ENV_PREFIX)) {
                p.setProperty(k.substring(KAFKA_ENV_PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '.'), v);
            }
        });
        return p;
    }
}
