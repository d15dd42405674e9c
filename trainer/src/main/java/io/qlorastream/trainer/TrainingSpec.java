package io.qlorastream.trainer;

import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.optim.AdamW;
import io.qlorastream.engine.optim.LrSchedule;
import io.qlorastream.engine.train.StepTrainer;

/**
 * The engine settings of a trainer or retrain run, with the meaning and defaults of {@code qlora-stream train}.
 * A stream has no known length, so the schedule's horizon is {@code scheduleSteps} (train's {@code --steps}): 0 means
 * unbounded, which only a constant schedule allows, and then the warmup comes from {@code warmupSteps} alone.
 */
public record TrainingSpec(LoraConfig lora, long seed, int batchSize, int gradAccum, int maxSeqLen,
                           LrSchedule.Kind schedule, double lr, int warmupSteps, double warmupRatio, long scheduleSteps,
                           AdamW.Config adam, double maxGradNorm, boolean checkpointing) {
    public TrainingSpec {
        if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
        if (gradAccum < 1) throw new IllegalArgumentException("--grad-accum must be at least 1, got " + gradAccum);
        if (!(lr > 0)) throw new IllegalArgumentException("--lr must be positive, got " + lr);
        if (scheduleSteps < 0) throw new IllegalArgumentException("--steps must be >= 0, got " + scheduleSteps);
        if (schedule != LrSchedule.Kind.CONSTANT && scheduleSteps == 0) {
            throw new IllegalArgumentException("--schedule " + schedule.name().toLowerCase(java.util.Locale.ROOT)
                    + " needs --steps (the schedule's length); a stream has no end to decay towards");
        }
    }

    public int examplesPerStep() {
        return batchSize * gradAccum;
    }

    public LrSchedule lrSchedule() {
        int warmup = warmupSteps > 0 ? warmupSteps : scheduleSteps > 0 ? LrSchedule.warmupSteps(0, warmupRatio, scheduleSteps) : 0;
        return new LrSchedule(schedule, lr, warmup, scheduleSteps);
    }

    public StepTrainer.Settings stepSettings() {
        return new StepTrainer.Settings(maxSeqLen, lrSchedule(), adam, maxGradNorm, checkpointing);
    }
}
