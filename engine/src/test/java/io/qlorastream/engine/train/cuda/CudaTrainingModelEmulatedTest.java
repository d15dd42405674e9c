package io.qlorastream.engine.train.cuda;

import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.compute.cuda.EmulatedDevice;
import io.qlorastream.engine.config.LlamaConfig;
import io.qlorastream.engine.lora.LoraModule;
import io.qlorastream.engine.lora.Rng;
import io.qlorastream.engine.model.LlamaModel;
import io.qlorastream.engine.model.LlamaWeights;
import io.qlorastream.engine.optim.AdamW;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.SplittableRandom;

import static io.qlorastream.engine.train.cuda.TrainingFixtures.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link CudaTrainingModel}'s orchestration run on the CPU through {@link EmulatedDevice} (device memory in a host
 * buffer, the kernels as Java mirrors of the .cu sources, cuBLAS's column-major products), against the CPU engine on
 * the same NF4 model: the loss, every adapter gradient tensor and the parameters and moments after optimizer steps
 * agree, with fp32 operands within 1e-4 (so which buffer, offset, transpose, order and chunk each call uses is right)
 * and with bf16 operands within the 1e-2. GQA, padding, dropout, biases, tied embeddings, several micro-batches
 * of different shapes, several loss chunks and several dequantization blocks per product are all exercised.
 * <p>
 * What only a GPU can show (CudaTrainingModelTest, GpuCheck): that NVRTC compiles the kernels and they compute what
 * their mirrors here compute, and that cuBLAS and the driver behave as emulated.
 */
class CudaTrainingModelEmulatedTest {
    // the fixtures (model, adapter, micro-batches, loop): TrainingFixtures

    static Run[] both(LlamaConfig c, double dropout, int steps, CudaTrainingModel.Precision precision, boolean checkpointing,
                      EmulatedDevice dev) {
        try (CpuBackend be = new CpuBackend(1)) {
            // a dequantization scratch of 100 elements: 4 rows of a 24-wide weight per product, several blocks each;
            // loss chunks of 300 logits: 3 rows of the 100-token vocabulary
            return cpuVsGpu(c, dropout, steps,
                    w -> new CudaTrainingModel(dev, new LlamaModel(w, be), checkpointing, precision, 100, 300));
        }
    }

    @ParameterizedTest(name = "{0}, dropout {1}, checkpointing {2}, tied {3}, biases {4}")
    @CsvSource({
            "FP32, 0.0, true, false, false, 1e-4",
            "FP32, 0.05, true, false, false, 1e-4",
            "FP32, 0.05, false, true, true, 1e-4",
            "BF16, 0.05, true, false, true, 1e-2",
            "BF16, 0.0, false, false, true, 1e-2"})
    void lossAndEveryGradientTensorAgreeWithTheCpuEngine(CudaTrainingModel.Precision precision, double dropout,
                                                        boolean checkpointing, boolean tied, boolean biases, double tol) {
        LlamaConfig c = config(tied, biases);
        EmulatedDevice dev = new EmulatedDevice(64 << 20);
        Run[] r = both(c, dropout, 1, precision, checkpointing, dev);
        Run cpu = r[0], gpu = r[1];
        assertThat(Math.abs(gpu.losses()[0] - cpu.losses()[0])).isLessThanOrEqualTo(tol * Math.abs(cpu.losses()[0]));
        double worst = 0;
        for (LoraModule m : adapter(c, dropout).modules()) {
            worst = Math.max(worst, Math.max(relative(gpu.firstGrads(), cpu.firstGrads(), m.aOffset, m.r * m.in),
                    relative(gpu.firstGrads(), cpu.firstGrads(), m.bOffset, m.out * m.r)));
        }
        System.out.printf("%s dropout %s: worst gradient tensor relative error %.2e (tolerance %s)%n", precision, dropout, worst, tol);
        for (LoraModule m : adapter(c, dropout).modules()) {
            assertThat(relative(gpu.firstGrads(), cpu.firstGrads(), m.aOffset, m.r * m.in)).as(m + " dA").isLessThanOrEqualTo(tol);
            assertThat(relative(gpu.firstGrads(), cpu.firstGrads(), m.bOffset, m.out * m.r)).as(m + " dB").isLessThanOrEqualTo(tol);
        }
        // the kernels of every layer kind ran, NF4 by blocks of rows
        assertThat(dev.launches).containsKeys("rope_rotate", "causal_softmax_forward", "causal_softmax_backward",
                "cross_entropy_forward_backward", "rmsnorm_backward", "swiglu_backward", "sumsq_partials", "adamw_step");
        assertThat(dev.launches.keySet()).anyMatch(k -> k.startsWith("nf4_dequantize_dq"));
        if (dropout > 0) {
            assertThat(dev.launches).containsKeys("lora_dropout_forward", "lora_dropout_backward");
        }
        if (biases) {
            assertThat(dev.launches).containsKey("add_bias_f32");
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"FP32, 1e-4", "BF16, 1e-2"})
    void optimizerStepsLeaveTheSameParametersMomentsAndStepCount(CudaTrainingModel.Precision precision, double tol) {
        LlamaConfig c = config(false, false);
        Run[] r = both(c, 0.05, 3, precision, true, new EmulatedDevice(64 << 20));
        Run cpu = r[0], gpu = r[1];
        for (int s = 0; s < 3; s++) {
            assertThat(Math.abs(gpu.losses()[s] - cpu.losses()[s])).as("step %d", s).isLessThanOrEqualTo(tol * Math.abs(cpu.losses()[s]));
        }
        int n = cpu.params().length;
        assertThat(relative(gpu.params(), cpu.params(), 0, n)).isLessThanOrEqualTo(tol);
        if (precision == CudaTrainingModel.Precision.FP32) {
            // Adam's moments follow the gradients; with bf16 gradients they move by the rounding, not checked here
            assertThat(relative(gpu.expAvg(), cpu.expAvg(), 0, n)).isLessThanOrEqualTo(tol);
            assertThat(relative(gpu.expAvgSq(), cpu.expAvgSq(), 0, n)).isLessThanOrEqualTo(tol);
        }
        assertThat(gpu.steps()).isEqualTo(3).isEqualTo(cpu.steps());
    }

    /**
     * Rows longer than a block of threads (hidden 264, vocabulary 300, 257 tokens: RMSNorm, cross-entropy and softmax
     * rows take several elements per thread), 4 query heads on 1 KV head of 66, one layer, 3 loss chunks and 75-row
     * dequantization blocks: fp32 still within 1e-4.
     */
    @org.junit.jupiter.api.Test
    void aWiderModelWithRowsLongerThanABlockAgreesToo() {
        LlamaConfig c = new LlamaConfig("LlamaForCausalLM", "llama", 300, 264, 64, 1, 4, 1, 66, 1e-5, 10000.0, null, 512,
                false, false, false, false, 1, List.of(2), "float32");
        EmulatedDevice dev = new EmulatedDevice(256 << 20);
        Run[] r;
        try (CpuBackend be = new CpuBackend(2)) {
            r = cpuVsGpu(c, 0.05, 1, w -> new CudaTrainingModel(dev, new LlamaModel(w, be), true,
                    CudaTrainingModel.Precision.FP32, 20_000, 30_000),
                    Micro.of(1, 257, 7), Micro.of(2, 9, 8));
        }
        assertThat(Math.abs(r[1].losses()[0] - r[0].losses()[0])).isLessThanOrEqualTo(1e-4 * Math.abs(r[0].losses()[0]));
        for (LoraModule m : adapter(c, 0.05).modules()) {
            assertThat(relative(r[1].firstGrads(), r[0].firstGrads(), m.aOffset, m.r * m.in)).as(m + " dA").isLessThanOrEqualTo(1e-4);
            assertThat(relative(r[1].firstGrads(), r[0].firstGrads(), m.bOffset, m.out * m.r)).as(m + " dB").isLessThanOrEqualTo(1e-4);
        }
    }

    /**
     * StepTrainer's lanes on the GPU engine: two adapters stepped in turn (each step loads its lane into the engine and
     * stores it back) end where the CPU StepTrainer ends, step counts and optimizer state included.
     */
    @org.junit.jupiter.api.Test
    void interleavedStepTrainerLanesEndWhereTheCpuLanesEnd() {
        LlamaConfig c = config(false, false);
        LlamaWeights w = weights(c);
        io.qlorastream.engine.train.StepTrainer.Settings settings = new io.qlorastream.engine.train.StepTrainer.Settings(64,
                new io.qlorastream.engine.optim.LrSchedule(io.qlorastream.engine.optim.LrSchedule.Kind.CONSTANT, 1e-2, 0, 10),
                io.qlorastream.engine.optim.AdamW.Config.torchDefaults(), 0.5, true);
        List<List<io.qlorastream.engine.data.TokenizedExample>> batches = new java.util.ArrayList<>();
        Rng r = new Rng(3);
        for (int b = 0; b < 4; b++) {
            List<io.qlorastream.engine.data.TokenizedExample> rows = new java.util.ArrayList<>();
            for (int e = 0; e < 2; e++) {
                int n = 4 + r.nextInt(5);
                int[] ids = new int[n];
                for (int t = 0; t < n; t++) ids[t] = r.nextInt(100);
                rows.add(new io.qlorastream.engine.data.TokenizedExample(ids, ids.clone()));
            }
            batches.add(rows);
        }
        float[][] cpu = lanes(w, c, settings, batches, null);
        float[][] gpu = lanes(w, c, settings, batches, new EmulatedDevice(64 << 20));
        for (int l = 0; l < 2; l++) {
            assertThat(relative(gpu[l], cpu[l], 0, cpu[l].length)).as("lane %d", l).isLessThanOrEqualTo(1e-4);
        }
    }

    /** Two lanes, each stepped twice in turn, one micro-batch a step; returns each lane's parameters then moments. */
    private static float[][] lanes(LlamaWeights w, LlamaConfig c, io.qlorastream.engine.train.StepTrainer.Settings settings,
                                   List<List<io.qlorastream.engine.data.TokenizedExample>> batches, EmulatedDevice dev) {
        try (CpuBackend be = new CpuBackend(1)) {
            LlamaModel model = new LlamaModel(w, be);
            io.qlorastream.engine.train.StepTrainer st = dev == null ? new io.qlorastream.engine.train.StepTrainer(model, settings)
                    : new io.qlorastream.engine.train.StepTrainer(model, settings, (m, cp) -> new CudaTrainingModel(dev, m, cp,
                    CudaTrainingModel.Precision.FP32, 100, 300));
            io.qlorastream.engine.train.StepTrainer.Lane[] lanes = new io.qlorastream.engine.train.StepTrainer.Lane[2];
            for (int l = 0; l < 2; l++) {
                lanes[l] = io.qlorastream.engine.train.StepTrainer.Lane.fresh(adapter(c, 0.05), settings.adam(), 11 + l);
            }
            for (int s = 0; s < 4; s++) {
                st.step(lanes[s % 2], List.of(batches.get(s)));
            }
            float[][] out = new float[2][];
            for (int l = 0; l < 2; l++) {
                assertThat(lanes[l].step()).isEqualTo(2);
                assertThat(lanes[l].optimizer.stepCount()).isEqualTo(2);
                float[] p = lanes[l].adapter.params;
                float[] m = lanes[l].optimizer.expAvg();
                out[l] = java.util.Arrays.copyOf(p, p.length + m.length);
                System.arraycopy(m, 0, out[l], p.length, m.length);
            }
            return out;
        }
    }
}
