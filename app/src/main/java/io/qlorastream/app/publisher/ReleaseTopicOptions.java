package io.qlorastream.app.publisher;

import picocli.CommandLine.Option;

/** The names of the release topics, shared by publisher, releases, rollback and subscribe. */
public final class ReleaseTopicOptions {
    @Option(names = "--releases-topic", paramLabel = "TOPIC", defaultValue = "adapter-releases",
            description = "Compacted topic of the current release per adapter (default: ${DEFAULT-VALUE}).")
    String releases;

    @Option(names = "--release-log-topic", paramLabel = "TOPIC", defaultValue = "adapter-release-log",
            description = "Append-only topic of every release and rollback (default: ${DEFAULT-VALUE}).")
    String releaseLog;
}
