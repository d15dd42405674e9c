package io.qlorastream.trainer;

import io.qlorastream.engine.data.PromptResponse;
import io.qlorastream.engine.data.TokenizedExample;
import io.qlorastream.events.Split;
import io.qlorastream.events.TrainingExample;
import io.qlorastream.schemas.OneLine;
import io.qlorastream.schemas.serde.AvroDeserializer;

import java.util.Map;

/**
 * A record of training-examples → the tokens a lane trains on, or the reason it cannot be trained (a poison
 * example for trainer-dlq). The same function serves the live trainer and retrain, so both skip the same records.
 */
public final class ExampleDecoding {
    /** Either {@code example} (with {@code tokens}) or a {@code reason} and {@code detail}. */
    public record Result(TrainingExample example, TokenizedExample tokens, String reason, String detail) {
        public boolean poison() {
            return reason != null;
        }
    }

    private final AvroDeserializer<TrainingExample> deserializer;
    private final TrainingCore core;

    public ExampleDecoding(TrainingCore core, String schemaRegistryUrl, Map<String, ?> clientConfig) {
        this.core = core;
        Map<String, Object> cfg = new java.util.HashMap<>(clientConfig);
        cfg.put("schema.registry.url", schemaRegistryUrl);
        cfg.put("specific.avro.reader", true);
        this.deserializer = new AvroDeserializer<TrainingExample>().configured(cfg, false);
    }

    public Result decode(String topic, byte[] value) {
        if (value == null) {
            return poison("no-value", "the record has no value");
        }
        TrainingExample e;
        try {
            e = deserializer.deserialize(topic, value);
        } catch (RuntimeException ex) {
            return poison("not-decodable", OneLine.withCauses(ex));
        }
        if (e == null) {
            return poison("no-value", "the record has no value");
        }
        if (e.getSplit() != Split.TRAIN) {
            return poison("not-train-split", "split " + e.getSplit() + " on the training topic");
        }
        if (e.getAdapterName().isBlank()) {
            return poison("no-adapter", "adapter_name is empty");
        }
        if (e.getResponse().isBlank()) {
            return poison("empty-response", "the response is empty");
        }
        TokenizedExample t;
        try {
            t = core.encoder.encode(new PromptResponse(e.getPrompt(), e.getResponse())).truncate(core.spec.maxSeqLen());
        } catch (RuntimeException ex) {
            return poison("not-encodable", OneLine.withCauses(ex));
        }
        if (t.targetCount() == 0) {
            return poison("no-target-tokens", "no response token left within --max-seq-len " + core.spec.maxSeqLen()
                    + " after the template (" + t.length() + " tokens)");
        }
        return new Result(e, t, null, null);
    }

    private static Result poison(String reason, String detail) {
        return new Result(null, null, reason, detail);
    }
}
