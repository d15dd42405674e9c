package io.qlorastream.app.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * Gives every option its value when the flag is absent: first the environment variable
 * {@code QLORA_STREAM_<OPTION>} ({@code --batch-size} → {@code QLORA_STREAM_BATCH_SIZE}), then the {@code --config}
 * file, then the option's own default. In the file, Kafka's and Confluent's standard keys keep their names
 * ({@code bootstrap.servers}, {@code schema.registry.url}); our own settings use the prefix {@code qlora.stream.}
 * ({@code qlora.stream.batch.size}) so they never collide with Kafka client settings such as the producer's
 * {@code batch.size}.
 */
public final class LayeredDefaults implements CommandLine.IDefaultValueProvider {
    public static final String ENV_PREFIX = "QLORA_STREAM_";
    public static final String FILE_PREFIX = "qlora.stream.";
    /** Options whose file key is the standard Kafka / Confluent client key. */
    static final Set<String> CLIENT_KEYS = Set.of("bootstrap-servers", "schema-registry-url");
    private static final Set<String> NEVER_DEFAULTED = Set.of("help", "version", "config");

    private final Map<String, String> env;
    private final Properties file;

    LayeredDefaults(Map<String, String> env, Properties file) {
        this.env = env;
        this.file = file;
    }

    /** Finds the config file the way the command line will ({@code --config F}, {@code --config=F}, or the env). */
    public static LayeredDefaults from(String[] args, Map<String, String> env) {
        Path config = configFile(args, env);
        return new LayeredDefaults(env, config == null ? new Properties() : loadQuietly(config));
    }

    static Path configFile(String[] args, Map<String, String> env) {
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                return Path.of(args[i + 1]);
            }
            if (args[i].startsWith("--config=")) {
                return Path.of(args[i].substring("--config=".length()));
            }
        }
        String fromEnv = env.get(ENV_PREFIX + "CONFIG");
        return fromEnv == null || fromEnv.isBlank() ? null : Path.of(fromEnv);
    }

    /** Loads a config file; the {@code --config} option itself reports a missing or unreadable file. */
    private static Properties loadQuietly(Path path) {
        Properties p = new Properties();
        if (Files.isReadable(path)) {
            try (Reader r = Files.newBufferedReader(path)) {
                p.load(r);
            } catch (IOException | IllegalArgumentException e) {
                return new Properties();
            }
        }
        return p;
    }

    public static String envName(String option) {
        return ENV_PREFIX + option.toUpperCase().replace('-', '_');
    }

    public static String fileKey(String option) {
        String dotted = option.replace('-', '.');
        return CLIENT_KEYS.contains(option) ? dotted : FILE_PREFIX + dotted;
    }

    /** The environment variable that sets this option ({@code --batch-size} → {@code QLORA_STREAM_BATCH_SIZE}), or null
     * for the options no variable sets (--help, --version, --config). Deployments check their variables against it. */
    public static String envVariable(OptionSpec option) {
        String name = option.longestName().replaceFirst("^-+", "");
        return NEVER_DEFAULTED.contains(name) ? null : envName(name);
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        if (!(arg instanceof OptionSpec option)) {
            return null;
        }
        String variable = envVariable(option);
        if (variable == null) {
            return null;
        }
        String fromEnv = env.get(variable);
        if (fromEnv != null) {
            return fromEnv;
        }
        return file.getProperty(fileKey(option.longestName().replaceFirst("^-+", "")));
    }
}
