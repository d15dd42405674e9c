package io.qlorastream.app.model;

import io.qlorastream.app.cli.ComputeOptions;
import io.qlorastream.app.cli.ConfigFileOption;
import io.qlorastream.engine.data.ExampleEncoder;
import io.qlorastream.engine.model.BaseModel;
import io.qlorastream.engine.model.Generator;
import io.qlorastream.engine.model.Sampling;
import io.qlorastream.engine.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code qlora-stream generate}: a completion for one prompt, streamed as the tokens come. */
@Command(name = "generate",
        description = "Generate a completion for a prompt with the NF4-quantized model, streaming it to stdout. The prompt is "
                + "wrapped as in training (chat template when the tokenizer has one, else the ### Instruction / ### Response form).")
public final class GenerateCommand implements Callable<Integer> {

    @Mixin
    ConfigFileOption configFile;

    @Mixin
    ComputeOptions compute;

    @Option(names = "--model", paramLabel = "DIR", required = true, description = "Model directory (required).")
    Path model;

    @Option(names = "--prompt", paramLabel = "TEXT", required = true, description = "The prompt (required).")
    String prompt;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "128",
            description = "Stop after this many tokens (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0",
            description = "Sampling temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "1.0",
            description = "Nucleus sampling: keep the most likely tokens up to this probability mass (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--adapter", paramLabel = "DIR",
            description = "A PEFT LoRA adapter directory (adapter_config.json + adapter_model.safetensors) to apply.")
    Path adapter;

    @Override
    public Integer call() throws Exception {
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("--max-new-tokens must be at least 1, got " + maxNewTokens);
        }
        Sampling sampling = new Sampling(temperature, topP, seed);
        PrintStream stdout = System.out;
        try (BaseModel base = BaseModel.open(model, compute::backend)) {
            Tokenizer tokenizer = base.tokenizer();
            int[] input = new ExampleEncoder(tokenizer).encodePrompt(prompt);
            Set<Integer> eos = base.eosIds();
            int[] produced = new int[maxNewTokens];
            int[] count = {0};
            String[] printed = {""};
            new Generator(AdapterOption.model(base, adapter)).generate(input, maxNewTokens, eos, sampling, token -> {
                produced[count[0]++] = token;
                // decode the whole completion each time: a character may span several byte-level tokens
                String text = tokenizer.decode(Arrays.copyOf(produced, count[0]));
                if (text.startsWith(printed[0]) && !text.endsWith("\uFFFD")) {
                    stdout.print(text.substring(printed[0].length()));
                    stdout.flush();
                    printed[0] = text;
                }
            });
            String text = tokenizer.decode(Arrays.copyOf(produced, count[0]));
            if (text.startsWith(printed[0])) {
                stdout.print(text.substring(printed[0].length()));
            }
            stdout.println();
            stdout.flush();
        }
        return 0;
    }
}
