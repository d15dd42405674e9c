package io.qlorastream.engine.train;

import io.qlorastream.engine.data.TokenizedExample;
import io.qlorastream.engine.kernels.CrossEntropy;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraDropout;
import io.qlorastream.engine.model.LlamaModel;
import io.qlorastream.engine.optim.AdamW;
import io.qlorastream.engine.optim.GradAccumulation;
import io.qlorastream.engine.optim.LrSchedule;
import io.qlorastream.engine.optim.TrainingState;
import io.qlorastream.engine.train.engine.TrainingEngine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * One optimizer step at a time on micro-batches the caller chooses, for any number of adapters over one frozen
 * base model: the one step sequence of training (forward and backward per micro-batch, the step's loss over all its
 * target tokens, clipping, AdamW at the scheduled learning rate). The live trainer service feeds it from the stream;
 * {@link Trainer} feeds it a fixed data set. Each {@link Lane} holds an adapter's own LoRA weights, AdamW moments,
 * dropout counter and step; {@link #step} attaches the lane's adapter, runs the step and leaves the base model
 * untouched. A step's result depends only on the lane's state and the examples passed, never on timing or on other
 * lanes, so replaying the same examples reproduces an adapter bit for bit.
 */
public final class StepTrainer {

    /**
     * @param maxSeqLen     longer examples are cut to this many tokens
     * @param schedule      learning rate of the step that follows {@code step} completed ones
     * @param maxGradNorm   global-norm clipping; 0 = none
     * @param checkpointing activation checkpointing per decoder block
     */
    public record Settings(int maxSeqLen, LrSchedule schedule, AdamW.Config adam, double maxGradNorm, boolean checkpointing) {
        public Settings {
            if (maxSeqLen < 2) throw new IllegalArgumentException("--max-seq-len must be at least 2, got " + maxSeqLen);
            if (!(maxGradNorm >= 0)) throw new IllegalArgumentException("--max-grad-norm must be >= 0, got " + maxGradNorm);
        }
    }

    /** One step's figures; {@code step} counts completed steps after this one. */
    public record StepResult(long step, double loss, double lr, double gradNorm, long targetTokens, long tokens, double seconds) {
    }

    /** The trainable state of one adapter: weights, optimizer, dropout (the only randomness of a step) and step. */
    public static final class Lane {
        public final LoraAdapter adapter;
        public final AdamW optimizer;
        public final LoraDropout dropout;
        private long step;

        public Lane(LoraAdapter adapter, AdamW optimizer, LoraDropout dropout, long step) {
            if (optimizer.size() != adapter.parameterCount()) {
                throw new IllegalArgumentException("optimizer holds " + optimizer.size() + " moments for an adapter of "
                        + adapter.parameterCount() + " parameters");
            }
            this.adapter = adapter;
            this.optimizer = optimizer;
            this.dropout = dropout;
            this.step = step;
        }

        /** A fresh lane: PEFT initialisation of the adapter from {@code seed}, zero moments, dropout seeded likewise. */
        public static Lane fresh(LoraAdapter adapter, AdamW.Config adam, long seed) {
            return new Lane(adapter, new AdamW(adam, adapter.parameterCount()), new LoraDropout(adapter.config.dropout(), seed), 0);
        }

        /** A lane continuing from a saved state; the dropout seed is configuration, its counter is state. */
        public static Lane restore(TrainingState s, long seed) {
            LoraDropout d = new LoraDropout(s.adapter.config.dropout(), seed);
            d.restore(s.dropoutCounter);
            return new Lane(s.adapter, s.optimizer, d, s.step);
        }

        /** The state to save: adapter, moments, step, dropout counter, and the caller's entries. */
        public TrainingState state(Map<String, long[]> rngStates, Map<String, String> extra) {
            return new TrainingState(adapter, optimizer, step, dropout.counter(), rngStates, extra);
        }

        public long step() {
            return step;
        }
    }

    private final LlamaModel model;
    private final Settings settings;
    private final TrainingEngine.Factory engineFactory;
    private TrainingEngine engine;
    /** The lane {@link #stepResident} left in the engine, whose host objects are current only after {@link #sync}. */
    private Lane resident;

    public StepTrainer(LlamaModel model, Settings settings) {
        this(model, settings, TrainingEngines::forModel);
    }

    /**
     * A step trainer whose steps run on the engine {@code engines} makes (default {@link TrainingEngines#forModel}).
     * Lanes share one engine: each step loads its lane's adapter and moments into it and stores them back after
     * (a copy each way per step for a GPU-resident engine), so a lane's host objects are always current between steps.
     */
    public StepTrainer(LlamaModel model, Settings settings, TrainingEngine.Factory engines) {
        this.model = model;
        this.settings = settings;
        this.engineFactory = engines;
    }

    public Settings settings() {
        return settings;
    }

    /**
     * One optimizer step of {@code lane} on {@code microBatches} (each a list of examples, right-padded together):
     * the loss is the mean over every target token of the step, gradients are accumulated over the micro-batches,
     * clipped, and AdamW updates the lane's adapter. The model's attached adapter is restored afterwards.
     */
    public StepResult step(Lane lane, List<List<TokenizedExample>> microBatches) {
        long start = System.nanoTime();
        List<MicroBatch> micro = microBatches(microBatches);
        LoraAdapter previous = model.lora();
        sync(); // a lane stepResident left in the engine gets its state back before another is loaded
        resident = null;
        engine().load(lane.adapter, lane.optimizer, lane.dropout);
        try {
            StepResult r = run(lane, micro, start);
            engine.store();
            return r;
        } finally {
            model.attachLora(previous, null);
        }
    }

    /**
     * {@link #step} for one lane trained many steps in a row (a fixed data set): the lane stays in the engine between
     * steps, so a GPU-resident engine copies nothing per step, and its host objects are current only after
     * {@link #sync}; the model keeps the lane's adapter attached.
     */
    StepResult stepResident(Lane lane, List<List<TokenizedExample>> microBatches) {
        long start = System.nanoTime();
        List<MicroBatch> micro = microBatches(microBatches);
        if (resident != lane) {
            sync();
            engine().load(lane.adapter, lane.optimizer, lane.dropout);
            resident = lane;
        }
        return run(lane, micro, start);
    }

    /** Copies the resident lane's adapter and moments back from the engine into its host objects. */
    void sync() {
        if (resident != null) {
            engine.store();
        }
    }

    /** Forgets the resident lane without copying it back (its host objects were replaced); the next step loads. */
    void evict() {
        resident = null;
    }

    /** Frees the engine's buffers (device memory of a GPU-resident engine) after copying the resident lane back. */
    void close() {
        sync();
        resident = null;
        if (engine != null) {
            engine.close();
            engine = null;
        }
    }

    private List<MicroBatch> microBatches(List<List<TokenizedExample>> microBatches) {
        if (microBatches.isEmpty() || microBatches.stream().anyMatch(List::isEmpty)) {
            throw new IllegalArgumentException("a step needs at least one non-empty micro-batch");
        }
        List<MicroBatch> micro = new ArrayList<>(microBatches.size());
        for (List<TokenizedExample> rows : microBatches) {
            List<TokenizedExample> cut = new ArrayList<>(rows.size());
            for (TokenizedExample e : rows) cut.add(e.truncate(settings.maxSeqLen()));
            micro.add(MicroBatch.of(cut));
        }
        return micro;
    }

    private TrainingEngine engine() {
        if (engine == null) {
            engine = engineFactory.create(model, settings.checkpointing());
        }
        return engine;
    }

    /** The step sequence on the lane the engine holds: zeroed gradients, each micro-batch's forward and backward, clip and AdamW. */
    private StepResult run(Lane lane, List<MicroBatch> micro, long start) {
        long targets = 0, tokens = 0;
        for (MicroBatch mb : micro) {
            targets += mb.targetCount();
            tokens += mb.realTokens();
        }
        GradAccumulation acc = new GradAccumulation(targets);
        engine.zeroGrads();
        for (MicroBatch mb : micro) {
            double lossSum = engine.accumulate(mb.tokens(), mb.mask(), mb.targets(), mb.batch(), mb.seqLen(), acc.tokenWeight());
            acc.add(lossSum, mb.targetCount());
            lane.dropout.nextMicroBatch();
        }
        double lr = settings.schedule().lr(lane.step);
        double gradNorm = engine.clipAndStep(settings.maxGradNorm(), lr);
        lane.step++;
        return new StepResult(lane.step, acc.meanLoss(), lr, gradNorm, targets, tokens, (System.nanoTime() - start) / 1e9);
    }

    /** Right-padded [batch, seqLen] tokens, mask (1 real, 0 pad) and shifted targets (-100 on pads and last positions). */
    record MicroBatch(int batch, int seqLen, int[] tokens, int[] mask, int[] targets, int targetCount, int realTokens) {
        static MicroBatch of(List<TokenizedExample> rows) {
            int batch = rows.size();
            int seqLen = 2;
            for (TokenizedExample e : rows) seqLen = Math.max(seqLen, e.inputIds().length);
            int[] tokens = new int[batch * seqLen];
            int[] mask = new int[batch * seqLen];
            int[] labels = new int[batch * seqLen];
            Arrays.fill(labels, GradAccumulation.IGNORE_INDEX);
            int real = 0;
            for (int b = 0; b < batch; b++) {
                TokenizedExample e = rows.get(b);
                int n = e.inputIds().length;
                System.arraycopy(e.inputIds(), 0, tokens, b * seqLen, n);
                System.arraycopy(e.labels(), 0, labels, b * seqLen, n);
                Arrays.fill(mask, b * seqLen, b * seqLen + n, 1);
                real += n;
            }
            int[] targets = CrossEntropy.shiftLabels(labels, batch, seqLen);
            return new MicroBatch(batch, seqLen, tokens, mask, targets, GradAccumulation.countTargets(targets, 0, targets.length), real);
        }
    }
}
