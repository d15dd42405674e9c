package io.qlorastream.app.model;

import io.qlorastream.engine.compute.Backend;
import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.engine.model.LlamaModel;
import io.qlorastream.engine.model.LlamaWeights;

import java.io.IOException;
import java.nio.file.Path;

/** The model of generate/score, with the {@code --adapter} LoRA attached when given (no dropout: evaluation). */
final class AdapterOption {
    private AdapterOption() {
    }

    static LlamaModel model(LlamaWeights weights, Backend backend, Path adapterDir) throws IOException {
        LlamaModel model = new LlamaModel(weights, backend);
        if (adapterDir != null) {
            model.attachLora(PeftAdapter.load(adapterDir, weights.config), null);
        }
        return model;
    }
}
