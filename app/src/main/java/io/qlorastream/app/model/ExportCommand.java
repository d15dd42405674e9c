package io.qlorastream.app.model;

import io.qlorastream.app.cli.ConfigFileOption;
import io.qlorastream.engine.export.MergedExport;
import io.qlorastream.engine.model.LoadOptions;
import io.qlorastream.engine.tensor.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code qlora-stream export}: an adapter in the forms other tools load. */
@Command(name = "export",
        description = "Export a LoRA adapter: merged into the model's weights as a Hugging Face model directory.",
        subcommands = ExportCommand.Merged.class)
public final class ExportCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing export form (merged)");
    }

    /** {@code export merged}: W' = W + (alpha/r)·B·A per adapted module, in bf16 or f16. */
    @Command(name = "merged",
            description = "Merge a PEFT LoRA adapter into a Hugging Face model and write the merged model directory "
                    + "(model.safetensors, config.json with torch_dtype, tokenizer and generation files).")
    static final class Merged implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ConfigFileOption configFile;

        @Option(names = "--model", paramLabel = "DIR", required = true,
                description = "Full-precision model directory the adapter was trained on (required).")
        Path model;

        @Option(names = "--adapter", paramLabel = "DIR", required = true,
                description = "PEFT LoRA adapter directory: adapter_config.json + adapter_model.safetensors (required).")
        Path adapter;

        @Option(names = "--out", paramLabel = "DIR", required = true, description = "Directory to write (required).")
        Path out;

        @Option(names = "--dtype", paramLabel = "bf16|f16", defaultValue = "bf16",
                description = "Dtype of the merged weights (default: ${DEFAULT-VALUE}).")
        String dtype;

        @Option(names = "--onto", paramLabel = "dequantized|original", defaultValue = "dequantized",
                description = "Merge onto the NF4-dequantized weights the adapter was trained against, or onto the "
                        + "original weights (adds the quantization error back in) (default: ${DEFAULT-VALUE}).")
        String onto;

        @Override
        public Integer call() throws IOException {
            DType d = switch (dtype) {
                case "bf16" -> DType.BF16;
                case "f16" -> DType.F16;
                default -> throw new ParameterException(spec.commandLine(), "--dtype must be bf16 or f16, got " + dtype);
            };
            MergedExport.Onto o = switch (onto) {
                case "dequantized" -> MergedExport.Onto.DEQUANTIZED;
                case "original" -> MergedExport.Onto.ORIGINAL;
                default -> throw new ParameterException(spec.commandLine(),
                        "--onto must be dequantized or original, got " + onto);
            };
            PrintStream err = System.err;
            MergedExport.export(model, adapter, out, d, o, LoadOptions.defaults(), line -> {
                err.println(line);
                err.flush();
            });
            System.out.println("Wrote the merged model to " + out);
            System.out.flush();
            return 0;
        }
    }
}
