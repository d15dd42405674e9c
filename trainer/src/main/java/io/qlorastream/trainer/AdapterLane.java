package io.qlorastream.trainer;

import io.qlorastream.engine.data.TokenizedExample;
import io.qlorastream.engine.train.StepTrainer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * One adapter learning from one partition: its engine lane (weights, AdamW, dropout, step), the examples waiting
 * for the next step, the lineage, and the counters a snapshot reports. Steps are cut by example count only, so
 * which examples form a step depends on the data and never on timing (except for a {@code --max-wait} flush).
 */
public final class AdapterLane {
    /** An example waiting for its step, with the offset it came from. */
    public record Pending(long offset, TokenizedExample tokens) {
    }

    public final String adapter;
    public final int partition;
    public final StepTrainer.Lane lane;
    public final String lineageId;
    final ArrayDeque<Pending> pending = new ArrayDeque<>();
    /** First offset trained on by this lineage, -1 before the first step. */
    long fromOffset = -1;
    /** One past the last offset trained on, -1 before the first step. */
    long toOffset = -1;
    long examplesSeen;
    long tokensSeen;
    /** Losses since the last snapshot: its "recent training loss". */
    double lossSum;
    long lossSteps;
    long lastSnapshotStep;
    long snapshots;
    // not saved: figures for the status line
    long lastArrivalNanos = System.nanoTime();
    double lastLoss = Double.NaN;
    long windowTokens;
    double windowSeconds;

    AdapterLane(String adapter, int partition, StepTrainer.Lane lane, String lineageId) {
        this.adapter = adapter;
        this.partition = partition;
        this.lane = lane;
        this.lineageId = lineageId;
    }

    public long step() {
        return lane.step();
    }

    void add(long offset, TokenizedExample t) {
        pending.add(new Pending(offset, t));
        lastArrivalNanos = System.nanoTime();
    }

    boolean ready(int examplesPerStep) {
        return pending.size() >= examplesPerStep;
    }

    /** Trains one step on the next {@code count} pending examples (micro-batches of {@code batchSize}). */
    StepTrainer.StepResult train(StepTrainer trainer, int count, int batchSize) {
        List<List<TokenizedExample>> micro = new ArrayList<>();
        List<TokenizedExample> rows = new ArrayList<>(batchSize);
        long first = -1, last = -1;
        for (int i = 0; i < count; i++) {
            Pending p = pending.poll();
            if (first < 0) first = p.offset();
            last = p.offset();
            rows.add(p.tokens());
            if (rows.size() == batchSize) {
                micro.add(rows);
                rows = new ArrayList<>(batchSize);
            }
        }
        if (!rows.isEmpty()) micro.add(rows);
        StepTrainer.StepResult r = trainer.step(lane, micro);
        if (fromOffset < 0) fromOffset = first;
        toOffset = last + 1;
        examplesSeen += count;
        tokensSeen += r.targetTokens();
        lossSum += r.loss();
        lossSteps++;
        lastLoss = r.loss();
        windowTokens += r.tokens();
        windowSeconds += r.seconds();
        return r;
    }

    double recentLoss() {
        return lossSteps == 0 ? lastLoss : lossSum / lossSteps;
    }

    double tokensPerSecond() {
        return windowSeconds > 0 ? windowTokens / windowSeconds : 0;
    }
}
