package io.qlorastream.evaluator;

import io.qlorastream.schemas.contract.ConsumerGroups;
import io.qlorastream.schemas.contract.Topic;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The evaluator service's Kafka settings ({@link #defaults}: the contract's topic names and group).
 *
 * @param transactionalId stable per evaluator instance: a restarted instance with the same id fences its previous
 *                        incarnation and aborts whatever transaction that one left open
 * @param heldOutSize     the bound of each adapter's held-out set
 * @param workDir         where fetched snapshot and release files are put while judged
 * @param maxPollInterval how long one evaluation may take before the group considers the instance gone
 */
public record EvaluatorConfig(String snapshotsTopic, String evalExamplesTopic, String releasesTopic, String evaluationsTopic,
                              String groupId, String transactionalId, int heldOutSize, Path workDir,
                              Duration pollTimeout, Duration maxPollInterval) {
    public EvaluatorConfig {
        for (String[] named : new String[][]{{"--snapshots-topic", snapshotsTopic}, {"--eval-examples-topic", evalExamplesTopic},
                {"--releases-topic", releasesTopic}, {"--evaluations-topic", evaluationsTopic}, {"--group-id", groupId},
                {"--transactional-id", transactionalId}}) {
            if (named[1] == null || named[1].isBlank()) {
                throw new IllegalArgumentException(named[0] + " must not be empty");
            }
        }
        if (heldOutSize < 1) {
            throw new IllegalArgumentException("--held-out-size must be at least 1, got " + heldOutSize);
        }
        if (workDir == null) {
            throw new IllegalArgumentException("--work-dir is required");
        }
    }

    public static EvaluatorConfig defaults(Path workDir) {
        return new EvaluatorConfig(Topic.ADAPTER_SNAPSHOTS.defaultName(), Topic.EVAL_EXAMPLES.defaultName(),
                Topic.ADAPTER_RELEASES.defaultName(), Topic.ADAPTER_EVALUATIONS.defaultName(), ConsumerGroups.EVALUATOR,
                ConsumerGroups.EVALUATOR + "-0", 256, workDir,
                Duration.ofMillis(500), Duration.ofMinutes(30));
    }

    public EvaluatorConfig withTopics(String snapshots, String evalExamples, String releases, String evaluations) {
        return new EvaluatorConfig(snapshots, evalExamples, releases, evaluations, groupId, transactionalId, heldOutSize, workDir,
                pollTimeout, maxPollInterval);
    }

    public EvaluatorConfig withGroup(String group, String txId) {
        return new EvaluatorConfig(snapshotsTopic, evalExamplesTopic, releasesTopic, evaluationsTopic, group, txId, heldOutSize, workDir,
                pollTimeout, maxPollInterval);
    }

    public EvaluatorConfig withHeldOutSize(int size) {
        return new EvaluatorConfig(snapshotsTopic, evalExamplesTopic, releasesTopic, evaluationsTopic, groupId, transactionalId, size, workDir,
                pollTimeout, maxPollInterval);
    }
}
