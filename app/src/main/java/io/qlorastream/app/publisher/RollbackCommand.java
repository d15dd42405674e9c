package io.qlorastream.app.publisher;

import io.qlorastream.app.cli.KafkaOptions;
import io.qlorastream.app.cli.TopicOptions;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.publisher.Rollback;
import io.qlorastream.publisher.SigningKeys;
import io.qlorastream.schemas.contract.Topic;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;

/** {@code qlora-stream rollback}: re-publishes an earlier version as the current release. */
@Command(name = "rollback",
        description = "Make an earlier version of an adapter current again: a ROLLBACK event, signed with the publisher's key, on "
                + "adapter-releases and adapter-release-log (one transaction). Subscribers switch to it. Version numbers keep counting.")
public final class RollbackCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    KafkaOptions kafka;

    @Mixin
    TopicOptions topics = new TopicOptions(Topic.ADAPTER_RELEASES, Topic.ADAPTER_RELEASE_LOG);

    @Option(names = "--adapter", paramLabel = "NAME", required = true, description = "The adapter (required).")
    String adapter;

    @Option(names = "--to-version", paramLabel = "N",
            description = "The version to make current (default: the newest release older than the current version).")
    Integer toVersion;

    @Option(names = "--key-dir", paramLabel = "DIR", defaultValue = "./publisher-keys",
            description = "The publisher's signing key pair (default: ${DEFAULT-VALUE}); never generated here.")
    Path keyDir;

    @Override
    public Integer call() throws Exception {
        if (toVersion != null && toVersion < 1) {
            throw new ParameterException(spec.commandLine(), "--to-version: must be 1 or more, got " + toVersion);
        }
        SigningKeys keys = SigningKeys.load(keyDir);
        AdapterRelease r;
        try {
            r = Rollback.rollback(kafka.clientProperties(), topics.name(Topic.ADAPTER_RELEASES), topics.name(Topic.ADAPTER_RELEASE_LOG), adapter, toVersion, keys, Clock.systemUTC());
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(e.getMessage(), e); // a run-time failure (exit 1), not a usage error
        }
        System.out.println("Rolled back " + adapter + " from v" + r.getRolledBackFromVersion() + " to v" + r.getVersion()
                + " (snapshot " + r.getSnapshotId() + ", " + r.getArtifactUri() + ")");
        return 0;
    }
}
