package io.qlorastream.app.demo;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The demo's live view. On a terminal one block of lines redrawn in place (cursor up over the previous block, each
 * line erased and rewritten); otherwise (a pipe, a file, CI) the same block as plain lines every few seconds, each
 * prefixed with the elapsed time so a log stays greppable. {@link #lines} is pure, for tests.
 */
public final class StatusView {
    private final PrintStream out;
    private final boolean inPlace;
    private final int width;
    private int drawn;

    /** {@code width}: the terminal's columns; in place, longer lines are cut so that none wraps and breaks the redraw. */
    public StatusView(PrintStream out, boolean inPlace, int width) {
        this.out = out;
        this.inPlace = inPlace;
        this.width = Math.max(20, width);
    }

    public StatusView(PrintStream out, boolean inPlace) {
        this(out, inPlace, 120);
    }

    /**
     * The terminal's width: {@code COLUMNS} when the shell exports it, else what {@code stty size} says of the
     * controlling terminal, else 120.
     */
    public static int terminalWidth() {
        try {
            String env = System.getenv("COLUMNS");
            if (env != null) {
                return Integer.parseInt(env.strip());
            }
            Process p = new ProcessBuilder("sh", "-c", "stty size < /dev/tty").redirectErrorStream(true).start();
            String outText = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII).strip();
            if (p.waitFor() == 0 && outText.matches("\\d+ \\d+")) {
                return Integer.parseInt(outText.split(" ")[1]);
            }
        } catch (Exception e) {
            // no terminal to ask: the default below
        }
        return 120;
    }

    public boolean inPlace() {
        return inPlace;
    }

    /** Draws the block: over the previous one on a terminal, appended otherwise. */
    public synchronized void show(List<String> lines) {
        StringBuilder b = new StringBuilder();
        if (inPlace) {
            if (drawn > 0) {
                b.append("\033[").append(drawn).append('F'); // to the first column of the block's first line
            }
            for (String l : lines) {
                b.append("\033[2K").append(l.length() < width ? l : l.substring(0, width - 2) + "…").append('\n');
            }
            for (int i = lines.size(); i < drawn; i++) {
                b.append("\033[2K\n"); // a shorter block: blank what is left of the longer one
            }
            drawn = Math.max(lines.size(), drawn);
        } else {
            for (String l : lines) {
                b.append(l).append('\n');
            }
        }
        out.print(b);
        out.flush();
    }

    /** Plain text that should stay on screen (the summary): after the block, which is not redrawn over it. */
    public synchronized void println(String line) {
        out.println(line);
        out.flush();
        drawn = 0;
    }

    /** The block for {@code v} after {@code elapsedSeconds} of a run limited to {@code limitSeconds}. */
    public static List<String> lines(DemoState.View v, List<String> adapters, double elapsedSeconds, double limitSeconds) {
        List<String> l = new ArrayList<>();
        l.add(String.format(Locale.ROOT, "qlora-stream demo  %s / %s", clock(elapsedSeconds), clock(limitSeconds)));
        l.add(String.format(Locale.ROOT, "events    produced %d  ingested %d  with examples %d  examples %d train / %d eval  dead letters %d (trainer %d)",
                v.produced(), v.ingestSum("records_in."), v.ingestCounter("inputs_with_examples"), v.ingestCounter("examples.train"),
                v.ingestCounter("examples.eval"), v.ingestSum("dead_letters."), v.trainerDeadLetters()));
        l.add("filtered  " + counts(merge(v.ingestGroup("filtered."), v.ingestGroup("examples_filtered."))));
        l.add("redacted  " + top(v.ingestGroup("redactions."), 8));
        l.add(String.format(Locale.ROOT, "%-12s %6s %8s %9s %6s %10s %8s %10s", "adapter", "step", "loss", "tokens/s", "snaps",
                "evals ok/x", "release", "subscriber"));
        for (String a : adapters) {
            DemoState.AdapterView av = v.adapters().getOrDefault(a, new DemoState.AdapterView());
            long ok = v.evaluations().stream().filter(e -> e.adapter().equals(a) && e.passed()).count();
            long bad = v.evaluations().stream().filter(e -> e.adapter().equals(a) && !e.passed()).count();
            Integer rel = v.releasedVersion(a);
            Integer sub = v.subscribed().get(a);
            l.add(String.format(Locale.ROOT, "%-12s %6d %8s %9.0f %6d %10s %8s %10s", a, av.step,
                    Double.isNaN(av.loss) ? "-" : String.format(Locale.ROOT, "%.4f", av.loss), av.tokensPerSecond, av.snapshots,
                    ok + "/" + bad, rel == null ? "-" : "v" + rel, sub == null ? "-" : "v" + sub));
        }
        l.add("evaluator " + (v.activity().isEmpty() ? "waiting for a snapshot" : v.activity()));
        l.add("last      " + (v.lastEvent().isEmpty() ? "-" : v.lastEvent()));
        return l;
    }

    /** "duplicate 12  bot 3" by count, largest first; "-" when empty. */
    static String counts(Map<String, Long> m) {
        if (m.isEmpty()) {
            return "-";
        }
        StringBuilder b = new StringBuilder();
        m.entrySet().stream()
                .sorted((x, y) -> x.getValue().equals(y.getValue()) ? x.getKey().compareTo(y.getKey()) : Long.compare(y.getValue(), x.getValue()))
                .forEach(e -> b.append(b.length() == 0 ? "" : "  ").append(e.getKey().toLowerCase(Locale.ROOT)).append(' ').append(e.getValue()));
        return b.toString();
    }

    /** The {@code n} largest counts, then how many kinds are left out. */
    static String top(Map<String, Long> m, int n) {
        if (m.size() <= n) {
            return counts(m);
        }
        Map<String, Long> kept = new java.util.LinkedHashMap<>();
        m.entrySet().stream()
                .sorted((x, y) -> x.getValue().equals(y.getValue()) ? x.getKey().compareTo(y.getKey()) : Long.compare(y.getValue(), x.getValue()))
                .limit(n).forEach(e -> kept.put(e.getKey(), e.getValue()));
        return counts(kept) + "  (+" + (m.size() - n) + " more types)";
    }

    private static Map<String, Long> merge(Map<String, Long> a, Map<String, Long> b) {
        Map<String, Long> m = new java.util.TreeMap<>(a);
        b.forEach((k, v) -> m.merge(k, v, Long::sum));
        return m;
    }

    /** One line of at most {@code max} characters: line breaks as spaces, the rest cut with an ellipsis. */
    static String shorten(String text, int max) {
        String one = text.replaceAll("\\s+", " ").strip();
        return one.length() <= max ? one : one.substring(0, max - 1) + "…";
    }

    /** 0:07, 4:32, 1:02:03. */
    static String clock(double seconds) {
        long s = Math.max(0, Math.round(seconds));
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, (s % 3600) / 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
