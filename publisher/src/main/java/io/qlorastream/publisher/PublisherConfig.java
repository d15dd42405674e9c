package io.qlorastream.publisher;

import io.qlorastream.schemas.contract.ConsumerGroups;
import io.qlorastream.schemas.contract.Topic;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The publisher's settings. Topic names default to the contract's; {@code minGain} is the least NLL improvement
 * (current release's NLL minus the candidate's, per target token, on the evaluation's held-out set) a new release
 * must bring over the current one; {@code minInterval} the least time between two releases of one adapter.
 */
public record PublisherConfig(
        String evaluationsTopic,
        String releasesTopic,
        String releaseLogTopic,
        String groupId,
        String transactionalId,
        String adapterStore,
        Path keyDir,
        double minGain,
        Duration minInterval,
        int partitions,
        short replicationFactor) {

    public PublisherConfig {
        if (Double.isNaN(minGain)) {
            throw new IllegalArgumentException("min gain: not a number");
        }
        if (minInterval.isNegative()) {
            throw new IllegalArgumentException("min interval: negative");
        }
        if (partitions < 1 || replicationFactor < 1) {
            throw new IllegalArgumentException("partitions and replication factor must be at least 1");
        }
    }

    /** The contract's topic names and group (also the transactional id), no gain or interval requirement. */
    public static PublisherConfig defaults(String adapterStore, Path keyDir) {
        return new PublisherConfig(Topic.ADAPTER_EVALUATIONS.defaultName(),
                Topic.ADAPTER_RELEASES.defaultName(), Topic.ADAPTER_RELEASE_LOG.defaultName(), ConsumerGroups.PUBLISHER,
                ConsumerGroups.PUBLISHER, adapterStore, keyDir, 0.0, Duration.ZERO, 3, (short) 1);
    }

    public PublisherConfig withTopics(String evaluations, String releases, String releaseLog) {
        return new PublisherConfig(evaluations, releases, releaseLog, groupId, transactionalId, adapterStore, keyDir,
                minGain, minInterval, partitions, replicationFactor);
    }

    public PublisherConfig withGroup(String group, String txId) {
        return new PublisherConfig(evaluationsTopic, releasesTopic, releaseLogTopic, group, txId, adapterStore, keyDir,
                minGain, minInterval, partitions, replicationFactor);
    }

    public PublisherConfig withPolicy(double gain, Duration interval) {
        return new PublisherConfig(evaluationsTopic, releasesTopic, releaseLogTopic, groupId, transactionalId, adapterStore,
                keyDir, gain, interval, partitions, replicationFactor);
    }

    public PublisherConfig withPartitions(int n, short rf) {
        return new PublisherConfig(evaluationsTopic, releasesTopic, releaseLogTopic, groupId, transactionalId, adapterStore,
                keyDir, minGain, minInterval, n, rf);
    }
}
