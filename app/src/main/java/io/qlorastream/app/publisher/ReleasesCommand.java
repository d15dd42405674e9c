package io.qlorastream.app.publisher;

import io.qlorastream.app.cli.KafkaOptions;
import io.qlorastream.app.cli.TopicOptions;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.events.ReleaseKind;
import io.qlorastream.publisher.ReleaseHistory;
import io.qlorastream.schemas.contract.Topic;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code qlora-stream releases}: the current release of each adapter and the history. */
@Command(name = "releases",
        description = "List the current release of each adapter (adapter-releases) and every release and rollback (adapter-release-log).")
public final class ReleasesCommand implements Callable<Integer> {
    @Mixin
    KafkaOptions kafka;

    @Mixin
    TopicOptions topics = new TopicOptions(Topic.ADAPTER_RELEASES, Topic.ADAPTER_RELEASE_LOG);

    @Option(names = "--adapter", paramLabel = "NAME", description = "Only this adapter.")
    String adapter;

    @Override
    public Integer call() {
        ReleaseHistory h = ReleaseHistory.read(kafka.clientProperties(), topics.name(Topic.ADAPTER_RELEASES), topics.name(Topic.ADAPTER_RELEASE_LOG), adapter);
        PrintStream out = System.out;
        out.println("Current releases:");
        if (h.current().isEmpty()) {
            out.println("  (none)");
        }
        String fmt = "  %-20s %-5s %-9s %-24s %-24s %s%n";
        if (!h.current().isEmpty()) {
            out.printf(Locale.ROOT, fmt, "ADAPTER", "VER", "KIND", "RELEASED AT", "SNAPSHOT", "ARTIFACT");
        }
        h.current().values().forEach(r -> out.printf(Locale.ROOT, fmt, r.getAdapterName(), "v" + r.getVersion(), kind(r), r.getReleasedAt(),
                r.getSnapshotId(), r.getArtifactUri()));
        out.println("History:");
        List<AdapterRelease> history = h.history().stream()
                .sorted(Comparator.comparing(AdapterRelease::getAdapterName).thenComparing(AdapterRelease::getReleasedAt)).toList();
        if (history.isEmpty()) {
            out.println("  (none)");
        } else {
            String hfmt = "  %-20s %-5s %-9s %-24s %-24s %-24s %s%n";
            out.printf(Locale.ROOT, hfmt, "ADAPTER", "VER", "KIND", "RELEASED AT", "SNAPSHOT", "EVALUATION", "METRICS");
            for (AdapterRelease r : history) {
                out.printf(Locale.ROOT, hfmt, r.getAdapterName(), "v" + r.getVersion(), kind(r), r.getReleasedAt(), r.getSnapshotId(),
                        r.getEvaluationId(), r.getKind() == ReleaseKind.ROLLBACK ? "" : metrics(r));
            }
        }
        out.flush();
        return 0;
    }

    private static String kind(AdapterRelease r) {
        return r.getKind() == ReleaseKind.ROLLBACK ? "ROLLBACK" : "RELEASE";
    }

    private static String metrics(AdapterRelease r) {
        StringBuilder sb = new StringBuilder();
        r.getMetrics().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                .filter(e -> e.getKey().endsWith("_nll"))
                .forEach(e -> sb.append(sb.length() == 0 ? "" : " ").append(e.getKey()).append('=')
                        .append(String.format(Locale.ROOT, "%.4f", e.getValue())));
        return sb.toString();
    }
}
