package io.qlorastream.app;

import io.qlorastream.app.model.TrainCommand;
import io.qlorastream.app.trainer.RetrainCommand;
import io.qlorastream.app.trainer.TrainerCommand;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** trainer and retrain take train's engine options under the same names, with the same defaults. */
class TrainingOptionsTest {
    /** Options whose meaning differs on a stream (documented in their descriptions). */
    static final Set<String> STREAM_SPECIFIC = Set.of("--steps", "--epochs", "--data", "--out", "--save-steps", "--init-adapter", "--resume",
            "--config", "--threads", "--help", "--version");

    @Test
    void everyEngineOptionOfTrainExistsWithTheSameDefault() {
        CommandSpec train = new CommandLine(new TrainCommand()).getCommandSpec();
        for (Class<?> cls : List.of(TrainerCommand.class, RetrainCommand.class)) {
            CommandSpec s = new CommandLine(cls).getCommandSpec();
            int compared = 0;
            for (OptionSpec o : train.options()) {
                if (STREAM_SPECIFIC.contains(o.longestName())) continue;
                OptionSpec mine = s.findOption(o.longestName());
                assertThat(mine).as(cls.getSimpleName() + " " + o.longestName()).isNotNull();
                assertThat(mine.defaultValue()).as(cls.getSimpleName() + " " + o.longestName()).isEqualTo(o.defaultValue());
                compared++;
            }
            assertThat(compared).isGreaterThan(15);
        }
    }
}
