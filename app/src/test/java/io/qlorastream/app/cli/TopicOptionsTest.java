package io.qlorastream.app.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qlorastream.app.QloraStream;
import io.qlorastream.schemas.contract.Topic;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.OptionSpec;

/** The one topic-option mixin: each command's topics, their defaults from the contract, set by flag or environment. */
class TopicOptionsTest {

    @Command(name = "probe")
    static final class Probe implements Runnable {
        @Mixin
        TopicOptions topics = new TopicOptions(Topic.ADAPTER_RELEASES, Topic.ADAPTER_SNAPSHOTS);

        @Override
        public void run() {
        }
    }

    @Test
    void everyCommandHasTheOptionsOfItsTopicsDefaultingToTheContractsNames() {
        Map<String, Set<String>> expected = Map.of(
                "trainer", Set.of("--examples-topic", "--snapshots-topic", "--dlq-topic"),
                "retrain", Set.of("--examples-topic", "--snapshots-topic"),
                "evaluator", Set.of("--snapshots-topic", "--eval-examples-topic", "--releases-topic", "--evaluations-topic"),
                "publisher", Set.of("--evaluations-topic", "--releases-topic", "--release-log-topic"),
                "releases", Set.of("--releases-topic", "--release-log-topic"),
                "rollback", Set.of("--releases-topic", "--release-log-topic"),
                "subscribe", Set.of("--releases-topic"),
                "dashboard", Set.of("--snapshots-topic", "--evaluations-topic", "--releases-topic", "--release-log-topic"));
        Map<String, String> defaults = new TreeMap<>();
        for (Topic t : Topic.values()) {
            if (t != Topic.SUPPORT_TICKETS && t != Topic.CODE_REVIEWS && t != Topic.INGEST_DLQ && t != Topic.SCHEMAS) {
                defaults.put(TopicOptions.optionName(t), t.defaultName());
            }
        }
        Map<String, CommandLine> tree = QloraStream.commandLine().getSubcommands();
        for (var e : expected.entrySet()) {
            Set<String> found = new TreeSet<>();
            for (OptionSpec o : tree.get(e.getKey()).getCommandSpec().options()) {
                if (o.longestName().endsWith("-topic")) {
                    found.add(o.longestName());
                    assertThat(o.defaultValue()).as("%s %s", e.getKey(), o.longestName()).isEqualTo(defaults.get(o.longestName()));
                    assertThat(LayeredDefaults.envVariable(o)).isEqualTo(LayeredDefaults.envName(o.longestName().substring(2)));
                }
            }
            assertThat(found).as("topic options of %s", e.getKey()).isEqualTo(e.getValue());
        }
    }

    @Test
    void aFlagOrAVariableNamesTheTopicAndTheContractsNameIsTheDefault() {
        Probe byDefault = new Probe();
        Cli.commandLine(byDefault, new String[0], Map.of()).parseArgs();
        assertThat(byDefault.topics.name(Topic.ADAPTER_RELEASES)).isEqualTo("adapter-releases");

        Probe flagged = new Probe();
        String[] args = {"--releases-topic", "releases-by-flag"};
        Cli.commandLine(flagged, args, Map.of("QLORA_STREAM_SNAPSHOTS_TOPIC", "snapshots-by-env")).parseArgs(args);
        assertThat(flagged.topics.name(Topic.ADAPTER_RELEASES)).isEqualTo("releases-by-flag");
        assertThat(flagged.topics.name(Topic.ADAPTER_SNAPSHOTS)).isEqualTo("snapshots-by-env");
        assertThatThrownBy(() -> flagged.topics.name(Topic.TRAINING_EXAMPLES)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("this command has no --examples-topic option");
        assertThatThrownBy(() -> new TopicOptions(Topic.SCHEMAS)).hasMessage("topic _schemas has no command-line option");
    }
}
