package io.qlorastream.app.cli;

import io.qlorastream.schemas.contract.Topic;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.IModelTransformer;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.IGetter;
import picocli.CommandLine.Model.ISetter;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The topic-name options of every command, as one picocli mixin: a {@code --<role>-topic} option for each contract
 * topic the command names, defaulting to the contract's name ({@link Topic#defaultName}). A command declares
 * {@code @Mixin TopicOptions topics = new TopicOptions(Topic.TRAINING_EXAMPLES, ...)} and reads
 * {@code topics.name(Topic.TRAINING_EXAMPLES)}.
 */
@Command(modelTransformer = TopicOptions.AddOptions.class)
public final class TopicOptions {
    /** Each topic's option: its name and what it holds, for --help. */
    private static final Map<Topic, String[]> OPTIONS = new EnumMap<>(Map.of(
            Topic.TRAINING_EXAMPLES, new String[]{"--examples-topic", "TRAIN TrainingExamples, keyed by adapter"},
            Topic.EVAL_EXAMPLES, new String[]{"--eval-examples-topic", "EVAL TrainingExamples the held-out sets come from"},
            Topic.TRAINER_DLQ, new String[]{"--dlq-topic", "Dead-letter topic of untrainable examples"},
            Topic.ADAPTER_SNAPSHOTS, new String[]{"--snapshots-topic", "AdapterSnapshot events"},
            Topic.ADAPTER_EVALUATIONS, new String[]{"--evaluations-topic", "AdapterEvaluation verdicts"},
            Topic.ADAPTER_RELEASES, new String[]{"--releases-topic", "Compacted topic of the current release per adapter"},
            Topic.ADAPTER_RELEASE_LOG, new String[]{"--release-log-topic", "Append-only topic of every release and rollback"}));

    private final List<Topic> topics;
    private final Map<Topic, String> names = new EnumMap<>(Topic.class);

    public TopicOptions(Topic... topics) {
        for (Topic t : topics) {
            if (!OPTIONS.containsKey(t)) {
                throw new IllegalArgumentException("topic " + t.defaultName() + " has no command-line option");
            }
            names.put(t, t.defaultName());
        }
        this.topics = List.of(topics);
    }

    /** The name given for {@code topic} (its option's value, or the contract's default). */
    public String name(Topic topic) {
        String name = names.get(topic);
        if (name == null) {
            throw new IllegalArgumentException("this command has no " + OPTIONS.get(topic)[0] + " option");
        }
        return name;
    }

    /** The option of {@code topic} (its longest name, "--releases-topic"). */
    public static String optionName(Topic topic) {
        return OPTIONS.get(topic)[0];
    }

    /** Adds the options of the command's topics when picocli has built its model (a mixin's transformer is the command's). */
    public static final class AddOptions implements IModelTransformer {
        @Override
        public CommandSpec transform(CommandSpec spec) {
            for (CommandSpec mixin : spec.mixins().values()) {
                if (mixin.userObject() instanceof TopicOptions options) {
                    options.addTo(spec);
                }
            }
            return spec;
        }
    }

    private void addTo(CommandSpec spec) {
        for (Topic t : topics) {
            String[] o = OPTIONS.get(t);
            if (spec.findOption(o[0]) != null) {
                continue;
            }
            spec.addOption(OptionSpec.builder(o[0]).paramLabel("TOPIC").type(String.class).defaultValue(t.defaultName())
                    .description(o[1] + " (default: ${DEFAULT-VALUE}).")
                    .getter(new IGetter() {
                        @Override
                        @SuppressWarnings("unchecked")
                        public <T> T get() {
                            return (T) names.get(t);
                        }
                    })
                    .setter(new ISetter() {
                        @Override
                        @SuppressWarnings("unchecked")
                        public <T> T set(T value) {
                            return (T) names.put(t, (String) value);
                        }
                    }).build());
        }
    }
}
