package io.qlorastream.engine.train;

import io.qlorastream.engine.compute.cuda.CudaBackend;
import io.qlorastream.engine.model.LlamaModel;
import io.qlorastream.engine.train.cuda.CudaTrainingModel;
import io.qlorastream.engine.train.engine.CpuTrainingEngine;
import io.qlorastream.engine.train.engine.TrainingEngine;

/** Which {@link TrainingEngine} trains a model: chosen here, above the backends, by the backend the model computes on. */
public final class TrainingEngines {
    private TrainingEngines() {
    }

    /**
     * The engine for {@code model}'s backend: GPU-resident training when the model computes on a
     * {@link CudaBackend} whose GPU has bf16 tensor cores (compute capability 8.0+), else the CPU engine over the
     * model's backend (on an older GPU: the CUDA backend's products with the rest on the CPU, said once on stderr).
     * A family layer the GPU path does not run yet is a one-line error naming the architecture.
     */
    public static TrainingEngine forModel(LlamaModel model, boolean checkpointing) {
        if (model.backend() instanceof CudaBackend cuda) {
            // The GPU-resident path runs the Llama layer only: a family's extras would be dropped, so refuse.
            if (!model.config().plainLlamaLayer()) {
                throw new IllegalArgumentException("GPU-resident training does not run " + model.config().architecture()
                        + " layers yet; train it on the CPU (--device cpu)");
            }
            if (cuda.gpu().ccMajor() >= 8) {
                return CudaTrainingModel.open(cuda, model, checkpointing, CudaTrainingModel.Precision.BF16);
            }
            System.err.println("compute: GPU-resident training needs compute capability 8.0+ (bf16); " + cuda.gpu().reason()
                    + ": training through the CUDA backend's products, the rest on the CPU");
        }
        return new CpuTrainingEngine(model, checkpointing);
    }
}
