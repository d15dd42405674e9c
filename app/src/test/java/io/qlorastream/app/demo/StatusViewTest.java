package io.qlorastream.app.demo;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class StatusViewTest {
    @Test
    void theBlockShowsEventsFiltersRedactionsAdaptersEvaluatorAndLastEvent() {
        List<String> lines = StatusView.lines(DemoFixtures.state().view(), DemoFixtures.ADAPTERS, 83, 600);
        assertThat(lines.get(0)).isEqualTo("qlora-stream demo  1:23 / 10:00");
        assertThat(lines.get(1)).isEqualTo("events    produced 100  ingested 100  with examples 30  examples 32 train / 8 eval  dead letters 5 (trainer 1)");
        // whole inputs and single examples filtered, largest first
        assertThat(lines.get(2)).isEqualTo("filtered  bot 40  duplicate 25  too_short 4");
        assertThat(lines.get(3)).isEqualTo("redacted  email 7  card 2");
        assertThat(lines.get(4)).containsSubsequence("adapter", "step", "loss", "tokens/s", "snaps", "evals ok/x", "release", "subscriber");
        assertThat(lines.get(5)).matches("support +20 +5\\.0000 +2500 +1 +1/0 +v1 +v1");
        assertThat(lines.get(6)).matches("code-review +10 +6\\.4000 +2400 +0 +0/1 +- +-");
        assertThat(lines.get(7)).isEqualTo("evaluator judging code-review cr-s00000020: candidate held-out NLL 3/6");
        assertThat(lines.get(8)).isEqualTo("last      released support v1 from snapshot lin-s00000020");
    }

    @Test
    void anAdapterWithoutStepsShowsDashes() {
        List<String> lines = StatusView.lines(new DemoState(DemoFixtures.ADAPTERS).view(), DemoFixtures.ADAPTERS, 0, 60);
        assertThat(lines.get(2)).isEqualTo("filtered  -");
        assertThat(lines.get(5)).matches("support +0 +- +0 +0 +0/0 +- +-");
        assertThat(lines.get(7)).isEqualTo("evaluator waiting for a snapshot");
        assertThat(lines.get(8)).isEqualTo("last      -");
    }

    @Test
    void onATerminalTheBlockIsRedrawnInPlaceAndPipedItIsPlainLines() {
        ByteArrayOutputStream tty = new ByteArrayOutputStream();
        StatusView inPlace = new StatusView(new PrintStream(tty, true, StandardCharsets.UTF_8), true);
        inPlace.show(List.of("a", "b", "c"));
        inPlace.show(List.of("d", "e"));
        // first draw: erase and write each line; second: back to the block's first line (3 up), rewrite, blank the third
        assertThat(tty.toString(StandardCharsets.UTF_8)).isEqualTo(
                "\033[2Ka\n\033[2Kb\n\033[2Kc\n" + "\033[3F\033[2Kd\n\033[2Ke\n\033[2K\n");
        inPlace.println("done");
        inPlace.show(List.of("f"));
        assertThat(tty.toString(StandardCharsets.UTF_8)).endsWith("done\n\033[2Kf\n"); // not drawn over the summary line

        ByteArrayOutputStream pipe = new ByteArrayOutputStream();
        StatusView plain = new StatusView(new PrintStream(pipe, true, StandardCharsets.UTF_8), false);
        plain.show(List.of("a", "b"));
        plain.show(List.of("c"));
        assertThat(pipe.toString(StandardCharsets.UTF_8)).isEqualTo("a\nb\nc\n");
    }

    @Test
    void inPlaceLinesAreCutToTheTerminalWidthSoNoneWraps() {
        ByteArrayOutputStream tty = new ByteArrayOutputStream();
        new StatusView(new PrintStream(tty, true, StandardCharsets.UTF_8), true, 20).show(List.of("x".repeat(30), "short"));
        assertThat(tty.toString(StandardCharsets.UTF_8)).isEqualTo("\033[2K" + "x".repeat(18) + "…\n\033[2Kshort\n");
    }

    @Test
    void redactionsShowTheEightLargestTypes() {
        java.util.Map<String, Long> m = new java.util.TreeMap<>();
        for (int i = 1; i <= 10; i++) {
            m.put("T" + i, (long) i);
        }
        assertThat(StatusView.top(m, 8)).isEqualTo("t10 10  t9 9  t8 8  t7 7  t6 6  t5 5  t4 4  t3 3  (+2 more types)");
        assertThat(StatusView.top(java.util.Map.of("EMAIL", 2L), 8)).isEqualTo("email 2");
    }

    @Test
    void clockAndShorten() {
        assertThat(StatusView.clock(7)).isEqualTo("0:07");
        assertThat(StatusView.clock(272)).isEqualTo("4:32");
        assertThat(StatusView.clock(3723)).isEqualTo("1:02:03");
        assertThat(StatusView.shorten("one\ntwo  three", 40)).isEqualTo("one two three");
        assertThat(StatusView.shorten("abcdefghij", 5)).isEqualTo("abcd…");
    }
}
