package io.qlorastream.app.model;

import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.engine.model.BaseModel;
import io.qlorastream.engine.model.LlamaModel;

import java.io.IOException;
import java.nio.file.Path;

/** The model of generate/score, with the {@code --adapter} LoRA attached when given (no dropout: evaluation). */
final class AdapterOption {
    private AdapterOption() {
    }

    static LlamaModel model(BaseModel base, Path adapterDir) throws IOException {
        LlamaModel model = base.model();
        if (adapterDir != null) {
            model.attachLora(PeftAdapter.load(adapterDir, base.config()), null);
        }
        return model;
    }
}
