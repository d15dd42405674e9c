package io.qlorastream.trainer;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The service settings of a live trainer (the engine's are in {@link TrainingSpec}); the contract's topic names and
 * group ({@code io.qlorastream.schemas.contract}) are the defaults.
 *
 * @param checkpointEvery checkpoint a partition after a lane of it reaches a multiple of this many steps
 * @param snapshotEvery   snapshot an adapter every this many steps
 * @param maxWait         null: batches by example count only (replayable bit for bit); else a partial batch that
 *                        waited this long is trained, which trades replay identity for latency
 * @param statusInterval  console status line period; zero: a line after every step
 */
public record TrainerConfig(String examplesTopic, String snapshotsTopic, String dlqTopic, String groupId,
                            Path checkpointDir, int checkpointEvery, int snapshotEvery, Duration maxWait,
                            Duration statusInterval) {
    public TrainerConfig {
        if (checkpointEvery < 1) throw new IllegalArgumentException("--checkpoint-every must be at least 1, got " + checkpointEvery);
        if (snapshotEvery < 1) throw new IllegalArgumentException("--snapshot-every must be at least 1, got " + snapshotEvery);
        if (maxWait != null && (maxWait.isNegative() || maxWait.isZero())) {
            throw new IllegalArgumentException("--max-wait must be positive, got " + maxWait);
        }
    }
}
