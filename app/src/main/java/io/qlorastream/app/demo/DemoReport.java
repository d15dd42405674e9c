package io.qlorastream.app.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.qlorastream.redact.Redactor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The demo's report directory: {@code report.md} (accounting, loss curves, evaluations, releases, sample completions),
 * {@code loss-<adapter>.png}, {@code evaluations.csv}, {@code releases.csv}, {@code summary.json} (machine-readable:
 * releases per adapter and ingest's accounting) and {@code releases/<adapter>/v<N>/} with each release's
 * {@code release.json} and {@code manifest.json} as the publisher and the store wrote them.
 */
public final class DemoReport {
    /** A held-out prompt completed greedily by the base model and by the released adapter. */
    public record Sample(String adapter, int version, String prompt, String reference, String base, String adapted) {
    }

    public static final String REPORT = "report.md";
    /** Completions are the model's own text: shown redacted, as the evaluator's leak probe reports them. */
    private static final Redactor REDACTOR = new Redactor();
    public static final String EVALUATIONS_CSV = "evaluations.csv";
    public static final String RELEASES_CSV = "releases.csv";
    public static final String SUMMARY_JSON = "summary.json";

    private DemoReport() {
    }

    public static String lossChartName(String adapter) {
        return "loss-" + adapter.replaceAll("[^A-Za-z0-9._-]", "_") + ".png";
    }

    /**
     * Writes everything into {@code dir} (created; files of an earlier report replaced). {@code adapterStore}: the
     * local store whose {@code <adapter>/releases/v<N>/} manifests are copied (null: none copied).
     */
    public static void write(Path dir, DemoState.View v, List<String> adapters, List<Sample> samples, Path adapterStore,
                             double wallSeconds, Map<String, Object> settings) throws IOException {
        Files.createDirectories(dir);
        for (String a : adapters) {
            LossChart.write(dir.resolve(lossChartName(a)), "training loss per step: " + a + " (dashed: released snapshots)",
                    v.adapters().containsKey(a) ? v.adapters().get(a).losses : List.of(), releaseMarkers(v, a));
        }
        Files.writeString(dir.resolve(EVALUATIONS_CSV), evaluationsCsv(v.evaluations()), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve(RELEASES_CSV), releasesCsv(v.releases()), StandardCharsets.UTF_8);
        List<String> copied = new ArrayList<>();
        if (adapterStore != null) {
            for (DemoState.Release r : v.releases()) {
                Path from = adapterStore.resolve(r.adapter()).resolve("releases").resolve("v" + r.version());
                Path to = dir.resolve("releases").resolve(r.adapter()).resolve("v" + r.version());
                Files.createDirectories(to);
                for (String f : List.of("release.json", "manifest.json")) {
                    if (Files.isRegularFile(from.resolve(f))) {
                        Files.copy(from.resolve(f), to.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                        copied.add(dir.relativize(to.resolve(f)).toString());
                    }
                }
            }
        }
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        json.writeValue(dir.resolve(SUMMARY_JSON).toFile(), summary(v, adapters, wallSeconds, settings));
        Files.writeString(dir.resolve(REPORT), markdown(v, adapters, samples, copied, wallSeconds, settings), StandardCharsets.UTF_8);
    }

    /** The step of each released snapshot of {@code adapter}, from the verdict that judged it. */
    static List<LossChart.Marker> releaseMarkers(DemoState.View v, String adapter) {
        List<LossChart.Marker> out = new ArrayList<>();
        for (DemoState.Release r : v.releases()) {
            if (!r.adapter().equals(adapter)) {
                continue;
            }
            v.evaluations().stream().filter(e -> e.adapter().equals(adapter) && e.snapshotId().equals(r.snapshotId())).findFirst()
                    .ifPresent(e -> out.add(new LossChart.Marker(e.step(), "v" + r.version())));
        }
        return out;
    }

    static Map<String, Object> summary(DemoState.View v, List<String> adapters, double wallSeconds, Map<String, Object> settings) {
        Map<String, Object> m = new LinkedHashMap<>();
        Map<String, Object> released = new LinkedHashMap<>();
        for (String a : adapters) {
            released.put(a, v.releasedVersion(a));
        }
        m.put("all_released", adapters.stream().allMatch(a -> v.releasedVersion(a) != null));
        m.put("released", released);
        m.put("wall_seconds", Math.round(wallSeconds * 10) / 10.0);
        Map<String, Object> acc = new LinkedHashMap<>();
        acc.put("events_produced", v.produced());
        acc.put("inputs_with_examples", v.ingestCounter("inputs_with_examples"));
        acc.put("filtered", v.ingestSum("filtered."));
        acc.put("dead_letters", v.ingestSum("dead_letters."));
        acc.put("accounted", v.accounted());
        acc.put("examples_train", v.ingestCounter("examples.train"));
        acc.put("examples_eval", v.ingestCounter("examples.eval"));
        acc.put("trainer_dead_letters", v.trainerDeadLetters());
        m.put("accounting", acc);
        m.put("ingest_counters", new java.util.TreeMap<>(v.ingest()));
        m.put("evaluations", v.evaluations().size());
        m.put("releases", v.releases().size());
        m.put("settings", settings);
        return m;
    }

    static String evaluationsCsv(List<DemoState.Evaluation> evaluations) {
        StringBuilder b = new StringBuilder("adapter,snapshot_id,step,candidate_nll,base_nll,margin,compared_with,verdict,reason\n");
        for (DemoState.Evaluation e : evaluations) {
            b.append(csv(e.adapter())).append(',').append(csv(e.snapshotId())).append(',').append(e.step()).append(',')
                    .append(num(e.candidateNll())).append(',').append(num(e.baseNll())).append(',').append(num(e.baseNll() - e.candidateNll()))
                    .append(',').append(e.comparedVersion() == null ? "" : "v" + e.comparedVersion()).append(',')
                    .append(e.passed() ? "PASSED" : "FAILED").append(',').append(csv(e.reason())).append('\n');
        }
        return b.toString();
    }

    static String releasesCsv(List<DemoState.Release> releases) {
        StringBuilder b = new StringBuilder("adapter,version,snapshot_id,released_at,candidate_nll,base_nll\n");
        for (DemoState.Release r : releases) {
            b.append(csv(r.adapter())).append(",v").append(r.version()).append(',').append(csv(r.snapshotId())).append(',')
                    .append(Instant.ofEpochMilli(r.releasedAtMillis())).append(',').append(num(r.candidateNll())).append(',')
                    .append(num(r.baseNll())).append('\n');
        }
        return b.toString();
    }

    static String markdown(DemoState.View v, List<String> adapters, List<Sample> samples, List<String> manifests, double wallSeconds,
                           Map<String, Object> settings) {
        StringBuilder b = new StringBuilder("# qlora-stream demo report\n\n");
        boolean all = adapters.stream().allMatch(a -> v.releasedVersion(a) != null);
        b.append(String.format(Locale.ROOT, "%s in %s (wall clock).%n%n", all ? "Every adapter was released" : "**Not every adapter was released**",
                StatusView.clock(wallSeconds)));
        b.append("Settings: ");
        List<String> s = new ArrayList<>();
        settings.forEach((k, val) -> s.add("`" + k + "` " + val));
        b.append(String.join(", ", s)).append(".\n\n");

        b.append("## Every input event accounted for\n\n");
        b.append("| events produced | gave examples | filtered (whole input) | dead letters | accounted |\n|---|---|---|---|---|\n");
        b.append(String.format(Locale.ROOT, "| %d | %d | %d | %d | %d |%n%n", v.produced(), v.ingestCounter("inputs_with_examples"),
                v.ingestSum("filtered."), v.ingestSum("dead_letters."), v.accounted()));
        b.append(String.format(Locale.ROOT, "Examples: %d train, %d eval; trainer dead letters: %d.%n%n", v.ingestCounter("examples.train"),
                v.ingestCounter("examples.eval"), v.trainerDeadLetters()));
        b.append("Filtered by reason: ").append(StatusView.counts(v.ingestGroup("filtered."))).append("; single examples filtered: ")
                .append(StatusView.counts(v.ingestGroup("examples_filtered."))).append(".\n\n");
        b.append("Redacted by type: ").append(StatusView.counts(v.ingestGroup("redactions."))).append(".\n\n");
        b.append("Dead letters by kind: ").append(StatusView.counts(v.ingestGroup("dead_letters."))).append(".\n\n");

        b.append("## Training loss\n\n");
        for (String a : adapters) {
            DemoState.AdapterView av = v.adapters().get(a);
            long steps = av == null ? 0 : av.step;
            b.append(String.format(Locale.ROOT, "- `%s`: %d steps, %d snapshots, last loss %s: ![%s](%s)%n", a, steps, av == null ? 0 : av.snapshots,
                    av == null || Double.isNaN(av.loss) ? "-" : String.format(Locale.ROOT, "%.4f", av.loss), a, lossChartName(a)));
        }
        b.append("\n## Evaluations\n\nNLL: mean negative log-likelihood per target token on the adapter's held-out set (nats).\n\n");
        b.append("| adapter | step | snapshot | candidate NLL | base NLL | margin | compared with | verdict | reason |\n|---|---|---|---|---|---|---|---|---|\n");
        for (DemoState.Evaluation e : v.evaluations()) {
            b.append(String.format(Locale.ROOT, "| %s | %d | `%s` | %s | %s | %s | %s | %s | %s |%n", e.adapter(), e.step(), e.snapshotId(),
                    num(e.candidateNll()), num(e.baseNll()), num(e.baseNll() - e.candidateNll()),
                    e.comparedVersion() == null ? "base only" : "v" + e.comparedVersion(), e.passed() ? "PASSED" : "FAILED", cell(e.reason())));
        }
        b.append("\n## Releases\n\n| adapter | version | snapshot | released at | candidate NLL | base NLL |\n|---|---|---|---|---|---|\n");
        for (DemoState.Release r : v.releases()) {
            b.append(String.format(Locale.ROOT, "| %s | v%d | `%s` | %s | %s | %s |%n", r.adapter(), r.version(), r.snapshotId(),
                    Instant.ofEpochMilli(r.releasedAtMillis()), num(r.candidateNll()), num(r.baseNll())));
        }
        if (!manifests.isEmpty()) {
            b.append("\nRelease manifests (signed `release.json`, the store's `manifest.json`): ");
            b.append(String.join(", ", manifests.stream().map(m -> "[" + m + "](" + m + ")").toList())).append(".\n");
        }
        b.append("\n## A held-out prompt: base model and released adapter\n\n");
        if (samples.isEmpty()) {
            b.append("No released adapter to compare.\n");
        }
        for (Sample smp : samples) {
            b.append("### `").append(smp.adapter()).append("` v").append(smp.version()).append("\n\nPrompt (held out, redacted by ingest):\n\n")
                    .append(fence(smp.prompt())).append("\nReference response:\n\n").append(fence(smp.reference()))
                    .append("\nGreedy completions (").append(Demo.SAMPLE_TOKENS).append(" tokens at most) of the same prompt:\n\n")
                    .append("| base model | with `").append(smp.adapter()).append("` v").append(smp.version()).append(" |\n|---|---|\n")
                    .append("| ").append(code(REDACTOR.redact(smp.base()).text())).append(" | ")
                    .append(code(REDACTOR.redact(smp.adapted()).text())).append(" |\n\n");
        }
        return b.toString();
    }

    private static String fence(String text) {
        return "```text\n" + text.replace("```", "'''") + "\n```\n";
    }

    /** A completion inside a table cell: inline code, line breaks shown as ⏎. */
    private static String code(String s) {
        return "`" + s.replace("`", "'").replace("|", "\\|").replace("\r", "").replace("\n", "⏎") + "`";
    }

    private static String cell(String s) {
        return s.replace("|", "\\|").replace("\n", " ");
    }

    private static String num(double d) {
        return Double.isNaN(d) ? "" : String.format(Locale.ROOT, "%.4f", d);
    }

    private static String csv(String s) {
        if (s == null) {
            return "";
        }
        return s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }
}
