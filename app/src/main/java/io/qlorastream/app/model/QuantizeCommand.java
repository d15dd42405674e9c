package io.qlorastream.app.model;

import io.qlorastream.app.cli.ConfigFileOption;
import io.qlorastream.engine.model.LoadOptions;
import io.qlorastream.engine.model.QuantizedCheckpoint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code qlora-stream quantize}: a Hugging Face model → a bitsandbytes 4-bit NF4 checkpoint. */
@Command(name = "quantize",
        description = "Quantize a Hugging Face Llama-family model to NF4 and write it as a bitsandbytes 4-bit checkpoint "
                + "(model.safetensors + config.json with quantization_config + tokenizer files).")
public final class QuantizeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ConfigFileOption configFile;

    @Option(names = "--model", paramLabel = "DIR", required = true,
            description = "Model directory: config.json + model.safetensors or shards (required).")
    Path model;

    @Option(names = "--out", paramLabel = "DIR", required = true,
            description = "Directory to write the quantized checkpoint into (required).")
    Path out;

    @Option(names = "--block-size", paramLabel = "N", defaultValue = "64",
            description = "NF4 block size: values per float32 absmax (default: ${DEFAULT-VALUE}).")
    int blockSize;

    @Option(names = "--no-double-quant", negatable = false, defaultValue = "false",
            description = "Keep the absmax in float32 instead of quantizing it to 8 bits (default: ${DEFAULT-VALUE}).")
    boolean noDoubleQuant;

    @Override
    public Integer call() throws IOException {
        if (blockSize <= 0 || blockSize % 2 != 0) {
            throw new ParameterException(spec.commandLine(), "--block-size must be a positive even number, got " + blockSize);
        }
        PrintStream stdout = System.out;
        QuantizedCheckpoint.Summary s = QuantizedCheckpoint.quantize(model, out, new LoadOptions(blockSize, !noDoubleQuant));
        stdout.printf(Locale.ROOT, "Quantized %d projections (%,d parameters) to NF4: %.3f bits per parameter; wrote %s (%,d bytes)%n",
                s.quantizedTensors(), s.quantizedParameters(), s.bitsPerParameter(), out.resolve("model.safetensors"), s.fileBytes());
        stdout.flush();
        return 0;
    }
}
