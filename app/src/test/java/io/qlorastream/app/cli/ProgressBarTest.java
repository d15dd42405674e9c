package io.qlorastream.app.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class ProgressBarTest {

    @Test
    void onATerminalOneLineIsRedrawnInPlace() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ProgressBar p = new ProgressBar(new PrintStream(bytes, true, StandardCharsets.UTF_8), true);
        p.update(1, 4, "loss 2.5000  100 tokens/s", 30);
        p.update(4, 4, "loss 1.2500  120 tokens/s", 0);
        p.finish();
        String s = bytes.toString(StandardCharsets.UTF_8);
        assertThat(s).isEqualTo("\r\033[2Kstep 1/4 [======>                 ]  25%  loss 2.5000  100 tokens/s  ETA 30s"
                + "\r\033[2Kstep 4/4 [========================] 100%  loss 1.2500  120 tokens/s  ETA 0s"
                + System.lineSeparator());
    }

    @Test
    void elsewherePlainLinesOnePerUpdate() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ProgressBar p = new ProgressBar(new PrintStream(bytes, true, StandardCharsets.UTF_8), false);
        p.update(3, 10, "loss 1.0000", 125);
        p.finish();
        assertThat(bytes.toString(StandardCharsets.UTF_8))
                .isEqualTo("step 3/10  loss 1.0000  ETA 2m05s" + System.lineSeparator())
                .doesNotContain("\r");
    }

    @Test
    void durations() {
        assertThat(ProgressBar.duration(Double.NaN)).isEqualTo("?");
        assertThat(ProgressBar.duration(59.4)).isEqualTo("59s");
        assertThat(ProgressBar.duration(3600 * 2 + 5 * 60 + 9)).isEqualTo("2h05m");
    }
}
