package io.qlorastream.app.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qlorastream.app.cli.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The demo's options as the run sees them: durations, the dashboard, and a real cluster's client settings. */
class DemoCommandTest {

    static Demo.Settings parse(Map<String, String> env, String... args) throws Exception {
        DemoCommand command = new DemoCommand();
        Cli.commandLine(command, args, env).parseArgs(args);
        return command.settings(env);
    }

    @Test
    void aRealClustersSecuritySettingsComeFromTheConfigFileAndTheEnvironment(@TempDir Path tmp) throws Exception {
        Path config = Files.writeString(tmp.resolve("cluster.properties"), String.join("\n",
                "security.protocol=SASL_SSL",
                "sasl.mechanism=PLAIN",
                "basic.auth.credentials.source=USER_INFO",
                "qlora.stream.rate=12",
                ""));
        Demo.Settings s = parse(Map.of("QLORA_STREAM_KAFKA_SASL_JAAS_CONFIG", "jaas-from-env"),
                "--bootstrap-servers", "kafka-1:9093", "--schema-registry-url", "https://registry:8081", "--config", config.toString());
        Properties client = s.clientSettings();
        assertThat(client.getProperty("security.protocol")).isEqualTo("SASL_SSL");
        assertThat(client.getProperty("sasl.mechanism")).isEqualTo("PLAIN");
        assertThat(client.getProperty("basic.auth.credentials.source")).isEqualTo("USER_INFO");
        assertThat(client.getProperty("sasl.jaas.config")).isEqualTo("jaas-from-env");
        assertThat(client).doesNotContainKey("qlora.stream.rate");
        assertThat(s.rate()).as("our own keys of the same file still set our options").isEqualTo(12);
        assertThat(s.bootstrapServers()).isEqualTo("kafka-1:9093");
        assertThat(s.schemaRegistryUrl()).isEqualTo("https://registry:8081");
    }

    @Test
    void theDashboardAndLingerDefaultsAndTheirLimits() throws Exception {
        Demo.Settings s = parse(Map.of());
        assertThat(s.bootstrapServers()).as("the embedded stack").isNull();
        assertThat(s.dashboardPort()).isEqualTo(8080);
        assertThat(s.linger()).isEqualTo(Duration.ZERO);
        assertThat(s.duration()).isEqualTo(Duration.ofMinutes(10));
        assertThat(parse(Map.of(), "--linger", "5m", "--dashboard-port", "-1").linger()).isEqualTo(Duration.ofMinutes(5));
        assertThatThrownBy(() -> parse(Map.of(), "--linger", "soon")).isInstanceOf(CommandLine.ParameterException.class)
                .hasMessage("--linger: expected e.g. 90s, 5m or 1h, got soon");
        assertThatThrownBy(() -> parse(Map.of(), "--dashboard-port", "70000")).isInstanceOf(CommandLine.ParameterException.class)
                .hasMessage("--dashboard-port: must be -1..65535, got 70000");
    }
}
