package io.qlorastream.app.cli;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress of long work: on a terminal one line redrawn in place ({@code \r}, erase line) with a bar, the count, the
 * caller's figures and the ETA; otherwise (a pipe, a file, a log collector) one plain line per update, which keeps
 * logs readable and greppable.
 */
public final class ProgressBar {
    private static final int BAR_WIDTH = 24;

    private final PrintStream out;
    private final boolean inPlace;
    private boolean open;

    public ProgressBar(PrintStream out, boolean inPlace) {
        this.out = out;
        this.inPlace = inPlace;
    }

    /**
     * In place when the process talks to a terminal: {@code System.console()} (stdin and stdout both a TTY on Java 17)
     * and a TERM other than "dumb".
     */
    public static ProgressBar forStdout() {
        String term = System.getenv("TERM");
        boolean tty = System.console() != null && !"dumb".equals(term);
        return new ProgressBar(System.out, tty);
    }

    public boolean inPlace() {
        return inPlace;
    }

    /** Shows {@code done}/{@code total} with {@code figures} (e.g. "loss 1.2345  310 tokens/s") and the ETA. */
    public synchronized void update(long done, long total, String figures, double etaSeconds) {
        String eta = "ETA " + duration(etaSeconds);
        if (inPlace) {
            out.print("\r\033[2K" + bar(done, total) + "  " + figures + "  " + eta);
            open = true;
        } else {
            out.println("step " + done + "/" + total + "  " + figures + "  " + eta);
        }
        out.flush();
    }

    /** Ends the in-place line (if any) so that what follows starts on a fresh line. */
    public synchronized void finish() {
        if (open) {
            out.println();
            out.flush();
            open = false;
        }
    }

    /** "step 12/100 [=====>                  ]  12%". */
    static String bar(long done, long total) {
        double f = total <= 0 ? 1 : Math.min(1, Math.max(0, (double) done / total));
        int filled = (int) Math.floor(f * BAR_WIDTH);
        StringBuilder b = new StringBuilder("step ").append(done).append('/').append(total).append(" [");
        for (int i = 0; i < BAR_WIDTH; i++) {
            b.append(i < filled ? '=' : i == filled ? '>' : ' ');
        }
        return b.append("] ").append(String.format(Locale.ROOT, "%3d%%", (int) Math.floor(f * 100))).toString();
    }

    /** 42s, 3m07s, 2h05m: the ETA at the precision that matters; "?" when unknown. */
    static String duration(double seconds) {
        if (!(seconds >= 0) || Double.isInfinite(seconds)) {
            return "?";
        }
        long s = Math.round(seconds);
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        }
        return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
    }
}
