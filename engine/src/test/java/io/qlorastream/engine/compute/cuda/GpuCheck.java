package io.qlorastream.engine.compute.cuda;

import io.qlorastream.engine.bench.TrainBenchmark;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.model.LlamaModel;
import io.qlorastream.engine.model.LlamaWeights;
import io.qlorastream.engine.model.LoadOptions;
import io.qlorastream.engine.model.ModelLoader;
import io.qlorastream.engine.model.ModelMaker;
import io.qlorastream.engine.model.ModelShape;
import io.qlorastream.engine.tensor.DType;
import io.qlorastream.engine.train.cuda.CudaTrainingModel;
import io.qlorastream.engine.train.cuda.TrainingPlan;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/**
 * The GPU machine's checks without Maven (bench/gpu/check.sh runs this on a carried JRE and class path):
 * <ul>
 *   <li>{@code tests}: the CUDA tests against the CPU backend; a skipped CUDA test counts as a failure here, since
 *       this only runs where a GPU is expected.</li>
 *   <li>{@code bench MODEL_DIR SEQ STEPS}: makes a 1.1B-parameter model ({@code 1b} preset, BF16) in MODEL_DIR unless
 *       one is there, then QLoRA training tokens/s GPU-resident ({@link CudaTrainingModel}, through Trainer on a CUDA
 *       backend; batch 1, LoRA r 64 on all projections, activation checkpointing), printed as
 *       {@code java_tokens_per_s=...} for the script, with the device memory the run holds (cudaMemGetInfo).</li>
 * </ul>
 */
public final class GpuCheck {
    private GpuCheck() {
    }

    public static void main(String[] args) throws Exception {
        String mode = args.length == 0 ? "tests" : args[0];
        switch (mode) {
            case "tests" -> System.exit(tests());
            case "bench" -> bench(Path.of(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            default -> {
                System.err.println("usage: GpuCheck tests | bench MODEL_DIR SEQ STEPS");
                System.exit(2);
            }
        }
    }

    static int tests() {
        System.out.println("probe: " + CudaProbe.probe().reason());
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectClass(CudaStatusTest.class), selectClass(CudaKernelSourcesTest.class),
                        selectClass("io.qlorastream.engine.compute.device.DeviceTest"), selectClass(CudaBackendTest.class),
                        selectClass("io.qlorastream.engine.model.LlamaModelCudaTest"), selectClass("io.qlorastream.engine.train.cuda.TrainingPlanTest"),
                        selectClass("io.qlorastream.engine.train.cuda.CudaTrainingModelEmulatedTest"),
                        selectClass("io.qlorastream.engine.train.cuda.CudaTrainingModelTest"))
                .build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launcher.execute(request, listener);
        TestExecutionSummary s = listener.getSummary();
        s.printFailuresTo(new PrintWriter(System.out, true), 20);
        long passed = s.getTestsSucceededCount();
        long failed = s.getTestsFailedCount() + s.getContainersFailedCount();
        long skipped = s.getTestsSkippedCount();
        // DeviceTest's no-GPU test is the one expected skip on a GPU machine
        System.out.printf(Locale.ROOT, "%d passed, %d failed, %d skipped%n", passed, failed, skipped);
        return failed == 0 && skipped <= 1 && passed > 0 ? 0 : 1;
    }

    static void bench(Path modelDir, int seqLen, int steps) throws Exception {
        if (!Files.isRegularFile(modelDir.resolve("config.json"))) {
            System.out.println("making the 1b preset model (BF16) in " + modelDir);
            ModelMaker.write(modelDir, ModelShape.preset("1b"), 1, DType.BF16);
        }
        LoraConfig lora = LoraConfig.qloraDefaults().withR(64);
        try (LlamaWeights weights = ModelLoader.load(modelDir, LoadOptions.defaults())) {
            long before;
            try (CudaBackend probe = CudaBackend.open(1)) {
                // the context itself is part of what nvidia-smi sees; the baseline is taken with one open
                before = CudaTrainingModel.deviceMemoryUsedBytes();
            }
            try (CudaBackend backend = CudaBackend.open(Runtime.getRuntime().availableProcessors())) {
                long withContext = CudaTrainingModel.deviceMemoryUsedBytes();
                System.out.println("gpu: " + backend.gpu().reason());
                TrainingPlan plan = TrainingPlan.of(weights.config, lora.r(), 1, seqLen, true);
                long params = io.qlorastream.engine.lora.LoraAdapter.zeros(lora, weights.config).parameterCount();
                System.out.printf(Locale.ROOT, "plan: weights %,d B, adapter+moments %,d B, activations %,d B%n",
                        TrainingPlan.weightBytes(weights), TrainingPlan.adapterBytes(params), plan.activationBytes());
                // Trainer on a CUDA backend trains GPU-resident (CudaTrainingModel): the path measured here
                TrainBenchmark.Result r = TrainBenchmark.run(new LlamaModel(weights, backend), lora, 1, seqLen, steps, true);
                long after = CudaTrainingModel.deviceMemoryUsedBytes();
                System.out.printf(Locale.ROOT, "java step [1 x %d] %.3f s, %d adapter parameters, peak RSS %,d bytes%n",
                        seqLen, r.secondsPerStep(), r.adapterParameters(), r.peakRssBytes());
                // every buffer of the run is still allocated (the engine lives until the backend closes): the
                // cudaMemGetInfo difference is the run's device memory, cuBLAS workspaces included
                System.out.printf(Locale.ROOT, "java_gpu_mib_cudaMemGetInfo=%.0f (context %.0f MiB more)%n",
                        (after - withContext) / 1048576.0, (withContext - before) / 1048576.0);
                System.out.printf(Locale.ROOT, "java_tokens_per_s=%.2f%n", r.tokensPerSecond());
            }
        }
    }
}
