package io.qlorastream.app.model;

import io.qlorastream.app.cli.ComputeOptions;
import io.qlorastream.app.cli.ConfigFileOption;
import io.qlorastream.app.cli.EngineTrainingOptions;
import io.qlorastream.app.cli.ProgressBar;
import io.qlorastream.engine.data.Example;
import io.qlorastream.engine.data.ExampleEncoder;
import io.qlorastream.engine.data.JsonlExamples;
import io.qlorastream.engine.data.TokenizedExample;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.engine.model.BaseModel;
import io.qlorastream.engine.optim.TrainingState;
import io.qlorastream.engine.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code qlora-stream train}: QLoRA fine-tuning of a LoRA adapter on a JSONL data set over the NF4 model. */
@Command(name = "train",
        description = "Train a LoRA adapter (QLoRA: NF4 frozen base, fp32 adapter) on a JSON Lines data set and write it in "
                + "PEFT layout to --out, with a resumable state in --out/checkpoint and one JSON line per step in "
                + "--out/training_log.jsonl. Ctrl-C saves the state; --resume continues from it.")
public final class TrainCommand implements Callable<Integer> {

    @Mixin
    ConfigFileOption configFile;

    @Mixin
    ComputeOptions compute;

    @Option(names = "--model", paramLabel = "DIR", required = true, description = "Model directory (required).")
    Path model;

    @Option(names = "--data", paramLabel = "FILE", required = true,
            description = "JSON Lines: prompt/response, messages, or input_ids/labels per line (required).")
    Path data;

    @Option(names = "--out", paramLabel = "DIR", required = true, description = "Adapter output directory (required).")
    Path out;

    @Mixin
    EngineTrainingOptions engine;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "0",
            description = "Optimizer steps; 0 = use --epochs (default: ${DEFAULT-VALUE}).")
    long steps;

    @Option(names = "--epochs", paramLabel = "F", defaultValue = "1", description = "Passes over the data when --steps is 0 (default: ${DEFAULT-VALUE}).")
    double epochs;

    @Option(names = "--save-steps", paramLabel = "N", defaultValue = "0",
            description = "Save the resumable state every N steps; 0 = only at the end and on Ctrl-C (default: ${DEFAULT-VALUE}).")
    int saveSteps;

    @Option(names = "--init-adapter", paramLabel = "DIR", description = "Start from this PEFT adapter instead of a fresh init.")
    Path initAdapter;

    @Option(names = "--resume", negatable = false, defaultValue = "false",
            description = "Continue from --out/checkpoint; every setting that shapes the run (seed, batch size, accumulation, "
                    + "data, LoRA, schedule, optimizer) must be the one it was saved with, only --steps/--epochs may grow "
                    + "(default: ${DEFAULT-VALUE}).")
    boolean resume;

    @Override
    public Integer call() throws Exception {
        PrintStream stdout = System.out;
        EngineTrainingOptions opt = engine;
        Trainer.Settings settings = new Trainer.Settings(opt.batchSize, opt.gradAccum, opt.maxSeqLen, steps, epochs, opt.seed,
                opt.scheduleKind(), opt.lr, opt.warmupSteps, opt.warmupRatio, opt.adamW(), opt.maxGradNorm, saveSteps, opt.checkpointing);
        LoraConfig loraConfig = opt.loraConfig();
        Path stateDir = out.resolve(Trainer.STATE_DIR);
        String base = model.toString();
        try (BaseModel baseModel = BaseModel.open(model, compute::backend)) {
            List<Example> raw = JsonlExamples.read(data);
            ExampleEncoder encoder = new ExampleEncoder(baseModel.tokenizer());
            List<TokenizedExample> examples = new ArrayList<>(raw.size());
            for (Example e : raw) {
                examples.add(encoder.encode(e));
            }
            TrainingState saved = resume ? TrainingState.load(stateDir, baseModel.config()) : null;
            LoraAdapter adapter;
            if (saved != null) {
                // the adapter comes from the state: a LoRA setting given now that differs would be silently ignored
                String loraMismatch = Trainer.mismatch(loraSettings(saved.adapter.config), loraSettings(loraConfig));
                if (loraMismatch != null) {
                    throw new IllegalArgumentException("cannot resume: " + loraMismatch
                            + " (a resumed run must repeat the settings its state was saved with)");
                }
                adapter = saved.adapter;
            } else if (initAdapter != null) {
                adapter = PeftAdapter.load(initAdapter, baseModel.config());
            } else {
                adapter = LoraAdapter.initialize(loraConfig, baseModel.config(), opt.seed);
            }
            Trainer trainer = new Trainer(baseModel.model(), adapter, examples, settings);
            if (saved != null) {
                trainer.restore(saved);
            }
            Files.createDirectories(out);
            stdout.printf(Locale.ROOT, "training %d examples (%d truncated to %d tokens), %d adapter parameters, steps %d..%d%n",
                    examples.size(), trainer.truncatedExamples(), opt.maxSeqLen, adapter.parameterCount(), trainer.step(),
                    trainer.totalSteps());
            CountDownLatch done = new CountDownLatch(1);
            Thread hook = new Thread(() -> {
                trainer.requestStop();
                try {
                    done.await(); // the loop finishes its step and saves the state before the JVM exits
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "train-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            Trainer.Result result;
            ProgressBar progress = ProgressBar.forStdout();
            try {
                result = trainer.run(out.resolve(Trainer.LOG_FILE), stateDir, base, m -> {
                    progress.update(m.step(), m.totalSteps(), String.format(Locale.ROOT,
                            "loss %.4f  lr %.3g  grad norm %.3f  %.0f tokens/s", m.loss(), m.lr(), m.gradNorm(),
                            m.tokensPerSecond()), m.etaSeconds());
                });
                progress.finish();
                trainer.saveState(stateDir, base);
                trainer.saveAdapter(out, base);
                stdout.printf(Locale.ROOT, "%s after %d steps: loss %.4f -> %.4f, %d tokens in %.1fs; adapter in %s%n",
                        result.completed() ? "done" : "stopped (resume with --resume)", result.stepsDone(),
                        result.firstLoss(), result.lastLoss(), result.tokens(), result.seconds(), out);
                stdout.flush();
            } finally {
                progress.finish();
                done.countDown(); // after the last line: once the hook returns the JVM may halt
            }
            if (result.completed()) {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // already shutting down: the hook is running and returns now that done is counted down
                }
            }
        }
        return 0;
    }

    /** The LoRA settings by the option that sets them, for the resume check. */
    private static java.util.Map<String, String> loraSettings(LoraConfig c) {
        java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put("--r", Integer.toString(c.r()));
        m.put("--lora-alpha", Double.toString(c.alpha()));
        m.put("--lora-dropout", Double.toString(c.dropout()));
        m.put("--target-modules", String.join(",", new java.util.TreeSet<>(c.targetModules()))); // a set in PEFT's file
        m.put("--use-rslora", Boolean.toString(c.useRslora()));
        return m;
    }
}
