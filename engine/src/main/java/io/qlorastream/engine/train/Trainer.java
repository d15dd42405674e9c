package io.qlorastream.engine.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.engine.data.TokenizedExample;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraDropout;
import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.engine.lora.Rng;
import io.qlorastream.engine.model.LlamaModel;
import io.qlorastream.engine.optim.AdamW;
import io.qlorastream.engine.optim.GradAccumulation;
import io.qlorastream.engine.optim.GradClip;
import io.qlorastream.engine.optim.LrSchedule;
import io.qlorastream.engine.optim.TrainingState;
import io.qlorastream.engine.train.engine.TrainingEngine;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The QLoRA training schedule over a fixed list of tokenized examples: which examples each optimizer step draws
 * ({@code gradAccum} micro-batches of {@code batchSize} right-padded sequences), for how many steps or epochs, the
 * learning-rate schedule, periodic saves and the training log. The steps themselves (the loss as the mean over all the
 * step's target tokens, {@link GradAccumulation}, gradient clipping, AdamW) are one {@link StepTrainer} lane's. The data
 * order is a seeded permutation per epoch ({@link Rng}), so the examples of step s are a function of (seed, s) alone
 * and a resumed run continues exactly where a saved one stopped.
 */
public final class Trainer {
    public static final String LOG_FILE = "training_log.jsonl";
    public static final String STATE_DIR = "checkpoint";
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Settings of a run; {@code steps} wins over {@code epochs} when positive; {@code checkpointing} = activation
     * checkpointing per decoder block (QLoRA's gradient checkpointing).
     */
    public record Settings(int batchSize, int gradAccum, int maxSeqLen, long steps, double epochs, long seed,
                           LrSchedule.Kind schedule, double lr, int warmupSteps, double warmupRatio,
                           AdamW.Config adam, double maxGradNorm, int saveSteps, boolean checkpointing) {
        public Settings {
            if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
            if (gradAccum < 1) throw new IllegalArgumentException("--grad-accum must be at least 1, got " + gradAccum);
            if (maxSeqLen < 2) throw new IllegalArgumentException("--max-seq-len must be at least 2, got " + maxSeqLen);
            if (steps <= 0 && !(epochs > 0)) throw new IllegalArgumentException("--steps or --epochs must be positive");
            if (!(lr > 0)) throw new IllegalArgumentException("--lr must be positive, got " + lr);
            if (!(maxGradNorm >= 0)) throw new IllegalArgumentException("--max-grad-norm must be >= 0, got " + maxGradNorm);
            if (saveSteps < 0) throw new IllegalArgumentException("--save-steps must be >= 0, got " + saveSteps);
        }

        /** QLoRA's defaults: lr 2e-4, constant after a 3 % warmup, max grad norm 0.3, batch 1 × accumulation 1. */
        public static Settings qlora(long steps) {
            return new Settings(1, 1, 512, steps, 0, 42, LrSchedule.Kind.CONSTANT, 2e-4, -1, 0.03,
                    AdamW.Config.qlora(), GradClip.QLORA_MAX_NORM, 0, true);
        }

        public int examplesPerStep() {
            return batchSize * gradAccum;
        }

        public long totalSteps(int exampleCount) {
            if (steps > 0) {
                return steps;
            }
            return Math.max(1, (long) Math.ceil(epochs * exampleCount / examplesPerStep()));
        }
    }

    /** One optimizer step's figures. */
    public record StepMetrics(long step, long totalSteps, double loss, double lr, double gradNorm, long targetTokens,
                              long tokens, double tokensPerSecond, double elapsedSeconds, double etaSeconds, double epoch) {
    }

    public interface Listener {
        void onStep(StepMetrics m);
    }

    public record Result(long stepsDone, boolean completed, double firstLoss, double lastLoss, int truncatedExamples,
                         long tokens, double seconds) {
    }

    private final LoraAdapter adapter;
    private final List<TokenizedExample> examples;
    private final Settings settings;
    private final LoraDropout dropout;
    private final long totalSteps;
    private final int truncated;
    private volatile boolean stopRequested;
    /** Runs the steps; holds the lane in its engine between them (see {@link #sync}). */
    private final StepTrainer stepTrainer;
    /**
     * The adapter, its optimizer, the dropout and the step count; made on first use, or from a restored state whose
     * optimizer it takes over (two adapter-sized arrays: not allocated twice).
     */
    private StepTrainer.Lane lane;

    /**
     * @param model   the model, its adapter attached by the trainer
     * @param adapter the adapter trained in place (fresh PEFT init, an --init-adapter, or a resumed state's)
     */
    public Trainer(LlamaModel model, LoraAdapter adapter, List<TokenizedExample> examples, Settings settings) {
        this(model, adapter, examples, settings, TrainingEngines::forModel);
    }

    /**
     * A trainer whose steps run on the engine {@code engines} makes for the model (default: {@link
     * TrainingEngines#forModel}, GPU-resident on a CUDA backend).
     */
    public Trainer(LlamaModel model, LoraAdapter adapter, List<TokenizedExample> examples, Settings settings,
                   TrainingEngine.Factory engines) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("no training examples");
        }
        this.adapter = adapter;
        this.settings = settings;
        List<TokenizedExample> cut = new ArrayList<>(examples.size());
        int t = 0;
        for (TokenizedExample e : examples) {
            TokenizedExample c = e.truncate(settings.maxSeqLen());
            if (c != e) t++;
            cut.add(c);
        }
        this.examples = cut;
        this.truncated = t;
        this.dropout = new LoraDropout(adapter.config.dropout(), settings.seed());
        this.totalSteps = settings.totalSteps(examples.size());
        int warmup = LrSchedule.warmupSteps(settings.warmupSteps(), settings.warmupRatio(), totalSteps);
        LrSchedule schedule = new LrSchedule(settings.schedule(), settings.lr(), warmup, totalSteps);
        this.stepTrainer = new StepTrainer(model, new StepTrainer.Settings(settings.maxSeqLen(), schedule, settings.adam(),
                settings.maxGradNorm(), settings.checkpointing()), engines);
        model.attachLora(adapter, dropout);
    }

    public long totalSteps() {
        return totalSteps;
    }

    public int truncatedExamples() {
        return truncated;
    }

    public long step() {
        return lane == null ? 0 : lane.step();
    }

    /** The optimizer; its moments are current once {@link #sync} has run (after {@link #run} they are). */
    public AdamW optimizer() {
        return lane().optimizer;
    }

    private StepTrainer.Lane lane() {
        if (lane == null) {
            lane = new StepTrainer.Lane(adapter, new AdamW(settings.adam(), adapter.parameterCount()), dropout, 0);
        }
        return lane;
    }

    /** Asks the loop to stop after the step in progress (a shutdown hook calls this). */
    public void requestStop() {
        stopRequested = true;
    }

    /**
     * Continues from a state saved by {@link #saveState}: adapter, moments, step and dropout counter. The state's
     * optimizer is taken over (its moments are not copied). Throws IllegalArgumentException, one line naming every
     * option that differs, when the state was saved with other {@link #trajectorySettings()} (settings a state does
     * not record, from older versions, are not checked); the number of steps may change (to train longer).
     */
    public void restore(TrainingState s) {
        if (s.adapter.parameterCount() != adapter.parameterCount()) {
            throw new IllegalArgumentException("saved state has " + s.adapter.parameterCount()
                    + " adapter parameters, this run " + adapter.parameterCount());
        }
        Map<String, String> saved = new LinkedHashMap<>(s.extra);
        saved.putAll(adamSettings(s.optimizer.config));
        String mismatch = mismatch(saved, trajectorySettings());
        if (mismatch != null) {
            throw new IllegalArgumentException("cannot resume: " + mismatch
                    + " (a resumed run must repeat the settings its state was saved with)");
        }
        System.arraycopy(s.adapter.params, 0, adapter.params, 0, adapter.params.length);
        dropout.restore(s.dropoutCounter);
        lane = new StepTrainer.Lane(adapter, s.optimizer, dropout, s.step);
        stepTrainer.evict(); // the next step hands the restored state to the engine
    }

    /**
     * Brings the adapter's parameters and the optimizer's moments back from the engine into their host arrays (a
     * GPU-resident engine keeps them on the device between steps). {@link #run}, {@link #saveState} and
     * {@link #saveAdapter} call it; a caller reading {@code adapter.params} in a listener calls it first.
     */
    public void sync() {
        stepTrainer.sync();
    }

    /** Frees the engine's buffers (device memory of a GPU-resident engine) after copying its state back. */
    public void close() {
        stepTrainer.close();
    }

    /** State entry → the option that sets it, for messages (entries without one are described by their key). */
    private static final Map<String, String> OPTION_OF = Map.ofEntries(
            Map.entry("seed", "--seed"), Map.entry("batch_size", "--batch-size"), Map.entry("grad_accum", "--grad-accum"),
            Map.entry("max_seq_len", "--max-seq-len"), Map.entry("lr", "--lr"), Map.entry("schedule", "--schedule"),
            Map.entry("warmup_steps", "--warmup-steps"), Map.entry("warmup_ratio", "--warmup-ratio"),
            Map.entry("adam_beta1", "--adam-beta1"), Map.entry("adam_beta2", "--adam-beta2"),
            Map.entry("adam_epsilon", "--adam-epsilon"), Map.entry("weight_decay", "--weight-decay"),
            Map.entry("max_grad_norm", "--max-grad-norm"), Map.entry("lora_dropout", "--lora-dropout"),
            Map.entry("examples", "the number of examples in --data"),
            Map.entry("data_sha256", "the tokenized examples of --data (SHA-256)"));

    /**
     * What decides the trajectory of a run besides the step count: which examples each step draws (seed, batch size,
     * accumulation, truncation, the data itself), the dropout masks, and the updates (schedule and optimizer settings),
     * by state entry name. Recorded by {@link #saveState}, checked by {@link #restore}. The thread count is not: the
     * same settings on other hardware continue the same run (its last bits may differ).
     */
    public Map<String, String> trajectorySettings() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("seed", Long.toString(settings.seed()));
        m.put("batch_size", Integer.toString(settings.batchSize()));
        m.put("grad_accum", Integer.toString(settings.gradAccum()));
        m.put("max_seq_len", Integer.toString(settings.maxSeqLen()));
        m.put("lr", Double.toString(settings.lr()));
        m.put("schedule", settings.schedule().name().toLowerCase(java.util.Locale.ROOT));
        m.put("warmup_steps", Integer.toString(settings.warmupSteps()));
        m.put("warmup_ratio", Double.toString(settings.warmupRatio()));
        m.put("max_grad_norm", Double.toString(settings.maxGradNorm()));
        m.put("lora_dropout", Double.toString(adapter.config.dropout()));
        m.putAll(adamSettings(settings.adam()));
        m.put("examples", Integer.toString(examples.size()));
        m.put("data_sha256", dataSha256());
        return m;
    }

    private static Map<String, String> adamSettings(AdamW.Config c) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("adam_beta1", Double.toString(c.beta1()));
        m.put("adam_beta2", Double.toString(c.beta2()));
        m.put("adam_epsilon", Double.toString(c.eps()));
        m.put("weight_decay", Double.toString(c.weightDecay()));
        return m;
    }

    /**
     * null when every entry of {@code now} that {@code saved} records is equal, else "the state was saved with
     * --batch-size 2, this run has --batch-size 3" naming every difference.
     */
    public static String mismatch(Map<String, String> saved, Map<String, String> now) {
        List<String> was = new ArrayList<>();
        List<String> is = new ArrayList<>();
        for (Map.Entry<String, String> e : now.entrySet()) {
            String old = saved.get(e.getKey());
            if (old != null && !old.equals(e.getValue())) {
                String option = OPTION_OF.getOrDefault(e.getKey(), e.getKey());
                boolean hash = e.getKey().endsWith("sha256");
                was.add(option + (hash ? " " + old.substring(0, Math.min(12, old.length())) : " " + old));
                is.add(option + (hash ? " " + e.getValue().substring(0, Math.min(12, e.getValue().length())) : " " + e.getValue()));
            }
        }
        if (was.isEmpty()) {
            return null;
        }
        return "the state was saved with " + String.join(", ", was) + "; this run has " + String.join(", ", is);
    }

    private String dataSha;

    /** SHA-256 over the (truncated) examples' token ids and labels, in order. */
    private String dataSha256() {
        if (dataSha == null) {
            java.security.MessageDigest md;
            try {
                md = java.security.MessageDigest.getInstance("SHA-256");
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1 << 16);
            for (TokenizedExample e : examples) {
                for (int[] a : new int[][]{e.inputIds(), e.labels()}) {
                    if (b.remaining() < 4) {
                        md.update(b.flip());
                        b.clear();
                    }
                    b.putInt(a.length);
                    for (int v : a) {
                        if (b.remaining() < 4) {
                            md.update(b.flip());
                            b.clear();
                        }
                        b.putInt(v);
                    }
                }
            }
            md.update(b.flip());
            dataSha = java.util.HexFormat.of().formatHex(md.digest());
        }
        return dataSha;
    }

    public void saveState(Path dir, String baseModel) throws IOException {
        sync();
        Map<String, String> extra = new LinkedHashMap<>(trajectorySettings());
        extra.put("examples_per_step", Integer.toString(settings.examplesPerStep()));
        extra.put("total_steps", Long.toString(totalSteps));
        lane().state(Map.of(), extra).save(dir, baseModel);
    }

    /** Index into {@code examples} of the i-th example drawn (i counted over all epochs). */
    int exampleAt(long i) {
        int n = examples.size();
        long epoch = i / n;
        return permutation(epoch)[(int) (i % n)];
    }

    private long cachedEpoch = -1;
    private int[] cachedPermutation;

    private int[] permutation(long epoch) {
        if (epoch != cachedEpoch) {
            int n = examples.size();
            int[] p = new int[n];
            for (int i = 0; i < n; i++) p[i] = i;
            Rng rng = new Rng(Rng.mix64(settings.seed() * 0x9E3779B97F4A7C15L + epoch));
            for (int i = n - 1; i > 0; i--) { // Fisher–Yates
                int j = rng.nextInt(i + 1);
                int tmp = p[i];
                p[i] = p[j];
                p[j] = tmp;
            }
            cachedPermutation = p;
            cachedEpoch = epoch;
        }
        return cachedPermutation;
    }

    /**
     * Runs steps until {@code totalSteps} (or a stop request), appending one JSON line per step to
     * {@code logFile} (may be null) and calling the listener.
     */
    public Result run(Path logFile, Listener listener) throws IOException {
        return run(logFile, null, null, listener);
    }

    /**
     * {@link #run(Path, Listener)} that also saves the resumable state into {@code stateDir} (atomically replaced)
     * after every step that is a multiple of {@code saveSteps} and not the last one (the caller saves the final
     * state, whether the run completed or stopped), before the listener hears of that step. No periodic saves when
     * stateDir is null or saveSteps is 0.
     */
    public Result run(Path logFile, Path stateDir, String baseModel, Listener listener) throws IOException {
        long start = System.nanoTime();
        long tokens = 0;
        double first = Double.NaN, last = Double.NaN;
        long startStep = step();
        Writer log = logFile == null ? null : Files.newBufferedWriter(logFile, StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        try {
            while (step() < totalSteps && !stopRequested) {
                StepTrainer.StepResult r = nextStep();
                long step = r.step();
                tokens += r.tokens();
                double secs = (System.nanoTime() - start) / 1e9;
                double tps = tokens / Math.max(secs, 1e-9);
                double eta = secs / (step - startStep) * (totalSteps - step);
                if (Double.isNaN(first)) first = r.loss();
                last = r.loss();
                StepMetrics m = new StepMetrics(step, totalSteps, r.loss(), r.lr(), r.gradNorm(), r.targetTokens(), r.tokens(),
                        tps, secs, eta, (double) step * settings.examplesPerStep() / examples.size());
                if (log != null) {
                    Map<String, Object> line = new LinkedHashMap<>();
                    line.put("step", m.step());
                    line.put("loss", m.loss());
                    line.put("lr", m.lr());
                    line.put("grad_norm", m.gradNorm());
                    line.put("target_tokens", m.targetTokens());
                    line.put("tokens", m.tokens());
                    line.put("tokens_per_s", m.tokensPerSecond());
                    line.put("epoch", m.epoch());
                    line.put("elapsed_s", m.elapsedSeconds());
                    log.write(JSON.writeValueAsString(line));
                    log.write('\n');
                    log.flush();
                }
                if (stateDir != null && settings.saveSteps() > 0 && step % settings.saveSteps() == 0 && step < totalSteps) {
                    saveState(stateDir, baseModel);
                }
                if (listener != null) listener.onStep(m);
            }
            // the adapter the caller saves or inspects is the trained one (not in a finally: after a failed step the
            // engine's state is not worth copying back, and a second failure would hide the first)
            sync();
        } finally {
            if (log != null) log.close();
        }
        return new Result(step(), step() >= totalSteps, first, last, truncated, tokens, (System.nanoTime() - start) / 1e9);
    }

    /** One optimizer step; stepTokens receives {tokens fed, target tokens}. Returns the step's mean loss. */
    double trainStep(long[] stepTokens) {
        StepTrainer.StepResult r = nextStep();
        stepTokens[0] = r.tokens();
        stepTokens[1] = r.targetTokens();
        return r.loss();
    }

    /** One optimizer step of the lane on the schedule's next {@code gradAccum} micro-batches. */
    private StepTrainer.StepResult nextStep() {
        int bs = settings.batchSize();
        long firstExample = step() * settings.examplesPerStep();
        List<List<TokenizedExample>> micro = new ArrayList<>(settings.gradAccum());
        for (int m = 0; m < settings.gradAccum(); m++) {
            List<TokenizedExample> rows = new ArrayList<>(bs);
            for (int b = 0; b < bs; b++) {
                rows.add(examples.get(exampleAt(firstExample + (long) m * bs + b)));
            }
            micro.add(rows);
        }
        return stepTrainer.stepResident(lane(), micro);
    }

    /** Writes the trained adapter (PEFT layout) into {@code dir}. */
    public void saveAdapter(Path dir, String baseModel) throws IOException {
        sync();
        PeftAdapter.save(adapter, dir, baseModel);
    }
}
