package io.qlorastream.app.evaluator;

import io.qlorastream.evaluator.Progress;

import java.io.PrintStream;
import java.util.Locale;

/** Scoring progress on one stream: a line when a stage starts, at every further tenth, and when it ends. */
final class ProgressPrinter implements Progress {
    private final PrintStream out;
    private final String prefix;
    private String stage;
    private int lastTenth;

    ProgressPrinter(PrintStream out, String prefix) {
        this.out = out;
        this.prefix = prefix;
    }

    @Override
    public synchronized void update(String stage, int done, int total) {
        int tenth = total == 0 ? 10 : done * 10 / total;
        if (!stage.equals(this.stage)) {
            this.stage = stage;
            lastTenth = -1;
        }
        if (tenth != lastTenth || done == total) {
            lastTenth = tenth;
            out.printf(Locale.ROOT, "%s%s %d/%d%n", prefix, stage, done, total);
            out.flush();
        }
    }
}
