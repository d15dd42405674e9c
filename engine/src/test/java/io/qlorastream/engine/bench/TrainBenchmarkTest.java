package io.qlorastream.engine.bench;

import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.model.BaseModel;
import io.qlorastream.engine.model.ModelMaker;
import io.qlorastream.engine.model.ModelShape;
import io.qlorastream.engine.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The model FLOPs {@code bench train} divides by its time, written out here from the shape of a generated GQA model
 * (LoRA on q and down only, so a count that took every projection or none would show): frozen products 2× their
 * forward, attention 3× its causal forward, LoRA 3× its forward.
 */
class TrainBenchmarkTest {

    @Test
    void countsFrozenAttentionAndLoraFlopsOfTheModelsShape(@TempDir Path dir) throws Exception {
        int hidden = 32, layers = 2, heads = 4, kvHeads = 2, inter = 48, vocab = 50, seq = 12, batch = 2, r = 4;
        ModelMaker.write(dir, ModelShape.llama(hidden, layers, heads, kvHeads, inter, vocab), 3, DType.BF16);
        int headDim = hidden / heads, kvDim = kvHeads * headDim;
        LoraConfig lora = new LoraConfig(r, 8, 0.05, List.of("q_proj", "down_proj"), false);
        try (BaseModel base = BaseModel.open(dir, () -> new CpuBackend(1))) {
            TrainBenchmark.Result res = TrainBenchmark.run(base.model(), lora, batch, seq, 1, true);
            double tokens = batch * seq;
            // q, o: hidden x hidden; k, v: hidden x kvDim; gate, up, down: hidden x inter; untied lm_head
            double projections = layers * (2.0 * hidden * hidden + 2.0 * hidden * kvDim + 3.0 * hidden * inter);
            assertThat(res.frozenFlopsPerStep()).isEqualTo(2 * 2 * tokens * (projections + (double) vocab * hidden));
            // per layer and head: q·kᵀ and p·v over the causal pairs (seq·(seq+1)/2 of them), 2 FLOPs a multiply-add
            double attentionForward = batch * layers * heads * 2 * (2.0 * headDim * seq * (seq + 1) / 2);
            assertThat(res.attentionFlopsPerStep()).isEqualTo(3 * attentionForward);
            // q: A [r, hidden], B [hidden, r]; down: A [r, inter], B [hidden, r]
            double loraForward = 2 * tokens * layers * ((double) r * (hidden + hidden) + (double) r * (inter + hidden));
            assertThat(res.loraFlopsPerStep()).isEqualTo(3 * loraForward);
            assertThat(res.flopsPerStep()).isEqualTo(res.frozenFlopsPerStep() + res.attentionFlopsPerStep() + res.loraFlopsPerStep());
            assertThat(res.gflops()).isEqualTo(res.flopsPerStep() / res.secondsPerStep() / 1e9);
            assertThat(res.adapterParameters()).isEqualTo((int) (layers * ((long) r * (2 * hidden) + (long) r * (inter + hidden))));
        }
    }
}
