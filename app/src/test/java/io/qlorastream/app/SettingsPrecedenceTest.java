package io.qlorastream.app;

import io.qlorastream.app.cli.Cli;
import io.qlorastream.app.cli.KafkaOptions;
import io.qlorastream.app.stack.StackCommand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/** Flag > environment > --config file > default, for every option of every command. */
class SettingsPrecedenceTest {

    @Test
    void flagBeatsEnvBeatsFileBeatsDefault(@TempDir Path tmp) throws Exception {
        Path config = Files.writeString(tmp.resolve("q.properties"), "qlora.stream.port=7003\n");

        assertThat(stackPort(Map.of())).isEqualTo(9092);
        assertThat(stackPort(Map.of(), "--config", config.toString())).isEqualTo(7003);
        assertThat(stackPort(Map.of("QLORA_STREAM_PORT", "7002"), "--config", config.toString())).isEqualTo(7002);
        assertThat(stackPort(Map.of("QLORA_STREAM_PORT", "7002"), "--config", config.toString(), "--port", "7001"))
                .isEqualTo(7001);
        assertThat(stackPort(Map.of("QLORA_STREAM_CONFIG", config.toString()))).isEqualTo(7003);
    }

    @Test
    void kafkaClientSettingsPassThroughAndOurOwnKeysDoNot(@TempDir Path tmp) throws Exception {
        Path config = Files.writeString(tmp.resolve("client.properties"), String.join("\n",
                "bootstrap.servers=file-broker:9093",
                "security.protocol=SASL_SSL",
                "sasl.mechanism=PLAIN",
                "batch.size=32768",
                "qlora.stream.batch.size=8",
                ""));
        Probe probe = new Probe();
        String[] args = {"--config", config.toString()};
        Cli.commandLine(probe, args, Map.of("QLORA_STREAM_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")).parseArgs(args);
        Properties p = probe.kafka.clientProperties();
        assertThat(p.getProperty("bootstrap.servers")).isEqualTo("file-broker:9093");
        assertThat(p.getProperty("security.protocol")).isEqualTo("SASL_SSL");
        assertThat(p.getProperty("batch.size")).isEqualTo("32768");
        assertThat(p).doesNotContainKey("qlora.stream.batch.size");
        assertThat(p.getProperty("schema.registry.url")).isEqualTo("http://127.0.0.1:8081");

        Probe flagged = new Probe();
        String[] withFlag = {"--config", config.toString(), "--bootstrap-servers", "flag:9094"};
        Cli.commandLine(flagged, withFlag, Map.of("QLORA_STREAM_BOOTSTRAP_SERVERS", "env:9095")).parseArgs(withFlag);
        assertThat(flagged.kafka.clientProperties().getProperty("bootstrap.servers")).isEqualTo("flag:9094");
    }

    @Test
    void anUnreadableConfigFileIsNamed(@TempDir Path tmp) {
        Probe probe = new Probe();
        Path missing = tmp.resolve("absent.properties");
        String[] args = {"--config", missing.toString()};
        Cli.commandLine(probe, args, Map.of()).parseArgs(args);
        org.assertj.core.api.Assertions.assertThatThrownBy(probe.kafka::clientProperties)
                .isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageStartingWith("--config: cannot read " + missing);
    }

    private static int stackPort(Map<String, String> env, String... flags) throws Exception {
        String[] args = new String[flags.length + 1];
        args[0] = "stack";
        System.arraycopy(flags, 0, args, 1, flags.length);
        CommandLine cl = Cli.commandLine(new QloraStream(), args, env);
        CommandLine.ParseResult parsed = cl.parseArgs(args);
        StackCommand stack = parsed.subcommand().commandSpec().commandLine().getCommand();
        var field = StackCommand.class.getDeclaredField("port");
        field.setAccessible(true);
        return field.getInt(stack);
    }

    @Command(name = "probe")
    static final class Probe implements Runnable {
        @Mixin
        KafkaOptions kafka;

        @Override
        public void run() {
        }
    }
}
