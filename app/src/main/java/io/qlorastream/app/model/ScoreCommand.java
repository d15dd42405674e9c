package io.qlorastream.app.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qlorastream.app.cli.ComputeOptions;
import io.qlorastream.app.cli.ConfigFileOption;
import io.qlorastream.engine.data.Example;
import io.qlorastream.engine.data.ExampleEncoder;
import io.qlorastream.engine.data.JsonlExamples;
import io.qlorastream.engine.data.TokenizedExample;
import io.qlorastream.engine.model.BaseModel;
import io.qlorastream.engine.model.Scorer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code qlora-stream score}: mean NLL per target token and perplexity of a JSONL data set, per example and overall. */
@Command(name = "score",
        description = "Score a JSON Lines data set with the NF4-quantized model: mean negative log-likelihood per target token "
                + "and perplexity, per example and overall (token-weighted).")
public final class ScoreCommand implements Callable<Integer> {

    @Mixin
    ConfigFileOption configFile;

    @Mixin
    ComputeOptions compute;

    @Option(names = "--model", paramLabel = "DIR", required = true, description = "Model directory (required).")
    Path model;

    @Option(names = "--data", paramLabel = "FILE", required = true,
            description = "JSON Lines: prompt/response, messages, or input_ids/labels per line (required).")
    Path data;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "4",
            description = "Examples per forward pass, right-padded (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--json", negatable = false, defaultValue = "false",
            description = "Print one JSON document instead of text (default: ${DEFAULT-VALUE}).")
    boolean json;

    @Option(names = "--adapter", paramLabel = "DIR",
            description = "A PEFT LoRA adapter directory (adapter_config.json + adapter_model.safetensors) to apply.")
    Path adapter;

    @Override
    public Integer call() throws Exception {
        if (batchSize < 1) {
            throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
        }
        PrintStream stdout = System.out;
        try (BaseModel base = BaseModel.open(model, compute::backend)) {
            List<Example> examples = JsonlExamples.read(data);
            ExampleEncoder encoder = new ExampleEncoder(base.tokenizer());
            List<int[]> ids = new ArrayList<>();
            List<int[]> labels = new ArrayList<>();
            for (Example e : examples) {
                TokenizedExample t = encoder.encode(e);
                ids.add(t.inputIds());
                labels.add(t.labels());
            }
            Scorer.Result r = new Scorer(AdapterOption.model(base, adapter), batchSize).score(ids, labels);
            if (json) {
                ObjectMapper mapper = new ObjectMapper();
                ObjectNode root = mapper.createObjectNode();
                ArrayNode list = root.putArray("examples");
                for (int i = 0; i < r.examples().size(); i++) {
                    Scorer.ExampleScore s = r.examples().get(i);
                    ObjectNode n = list.addObject().put("line", i + 1).put("target_tokens", s.targetTokens());
                    putNumber(n, "mean_nll", s.meanNll());
                    putNumber(n, "perplexity", s.perplexity());
                }
                ObjectNode overall = root.putObject("overall").put("examples", r.examples().size())
                        .put("target_tokens", r.targetTokens());
                putNumber(overall, "mean_nll", r.meanNll());
                putNumber(overall, "perplexity", r.perplexity());
                stdout.println(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(root));
            } else {
                for (int i = 0; i < r.examples().size(); i++) {
                    Scorer.ExampleScore s = r.examples().get(i);
                    stdout.printf(Locale.ROOT, "%s:%d  %d target tokens  mean NLL %.4f  perplexity %.3f%n",
                            data.getFileName(), i + 1, s.targetTokens(), s.meanNll(), s.perplexity());
                }
                stdout.printf(Locale.ROOT, "overall  %d examples  %d target tokens  mean NLL %.4f  perplexity %.3f%n",
                        r.examples().size(), r.targetTokens(), r.meanNll(), r.perplexity());
            }
            stdout.flush();
        }
        return 0;
    }

    /** JSON has no NaN: an example without target tokens gets null. */
    private static void putNumber(ObjectNode n, String key, double v) {
        if (Double.isNaN(v)) {
            n.putNull(key);
        } else {
            n.put(key, v);
        }
    }
}
