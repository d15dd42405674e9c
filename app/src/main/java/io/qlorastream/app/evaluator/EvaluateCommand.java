package io.qlorastream.app.evaluator;

import io.qlorastream.app.cli.ComputeOptions;
import io.qlorastream.app.cli.ConfigFileOption;
import io.qlorastream.engine.data.Example;
import io.qlorastream.engine.data.JsonlExamples;
import io.qlorastream.engine.data.PromptResponse;
import io.qlorastream.engine.model.BaseModel;
import io.qlorastream.evaluator.ArtifactVerifier;
import io.qlorastream.evaluator.HeldOutExample;
import io.qlorastream.evaluator.HeldOutSet;
import io.qlorastream.evaluator.Reports;
import io.qlorastream.evaluator.Sha256;
import io.qlorastream.evaluator.SnapshotEvaluator;
import io.qlorastream.events.AdapterEvaluation;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.io.JsonEncoder;
import org.apache.avro.specific.SpecificDatumWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/** {@code qlora-stream evaluate}: one evaluation of a snapshot directory, offline, printing the service's report. */
@Command(name = "evaluate",
        description = {"Evaluate one adapter snapshot offline, as the evaluator service does: checksums (from the snapshot's "
                + "manifest.json), mean NLL per target token of candidate, base and --release on the data, general-text NLL of "
                + "candidate and base, and the leak probe; prints the report with every metric and check.",
                "Exit code 0 when the snapshot passes the gate, 1 when it fails (or on an error), 2 on bad usage."})
public final class EvaluateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ConfigFileOption configFile;

    @Mixin
    ComputeOptions compute;

    @Mixin
    GateOptions gate;

    @Option(names = "--snapshot", paramLabel = "DIR", required = true,
            description = "The snapshot: adapter_config.json, adapter_model.safetensors and, to verify them, manifest.json (required).")
    Path snapshot;

    @Option(names = "--model", paramLabel = "DIR", required = true, description = "The base model directory (required).")
    Path model;

    @Option(names = "--data", paramLabel = "FILE", required = true,
            description = "Held-out examples, JSON Lines of {\"prompt\": ..., \"response\": ...} (required).")
    Path data;

    @Option(names = "--max-examples", paramLabel = "N", defaultValue = "256",
            description = "Use at most the first N examples of --data (default: ${DEFAULT-VALUE}).")
    int maxExamples;

    @Option(names = "--release", paramLabel = "DIR", description = "The current release's adapter directory, to compare with.")
    Path release;

    @Option(names = "--release-version", paramLabel = "N", defaultValue = "1",
            description = "The version number of --release, for the report (default: ${DEFAULT-VALUE}).")
    int releaseVersion;

    @Option(names = "--adapter-name", paramLabel = "NAME",
            description = "The adapter's name in the report (default: the snapshot directory's parent's parent, else its own name).")
    String adapterName;

    @Option(names = "--json", negatable = false, defaultValue = "false",
            description = "Print the AdapterEvaluation event as JSON instead of text (default: ${DEFAULT-VALUE}).")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (maxExamples < 1) {
            throw new ParameterException(spec.commandLine(), "--max-examples must be at least 1, got " + maxExamples);
        }
        SnapshotEvaluator.Settings settings;
        try {
            settings = gate.settings();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (!Files.isDirectory(snapshot)) {
            throw new IOException("--snapshot " + snapshot + ": not a directory");
        }
        HeldOutSet.Frozen set = HeldOutSet.Frozen.of(readData());
        PrintStream out = System.out;
        PrintStream err = System.err;

        Map<String, String> expected = ArtifactVerifier.manifest(snapshot);
        if (expected == null) {
            err.println("note: no " + ArtifactVerifier.MANIFEST + " in " + snapshot + ": the snapshot's checksums are not verified");
            expected = Map.of();
        }
        expected = withoutManifest(expected);
        SnapshotEvaluator.Release rel = null;
        if (release != null) {
            Map<String, String> relSha = ArtifactVerifier.manifest(release);
            rel = new SnapshotEvaluator.Release(releaseVersion, release, relSha == null ? Map.of() : withoutManifest(relSha), null);
        }
        Path abs = snapshot.toAbsolutePath().normalize();
        String name = adapterName != null ? adapterName
                : abs.getParent() != null && abs.getParent().getFileName() != null && abs.getParent().getFileName().toString().equals("snapshots")
                && abs.getParent().getParent() != null ? abs.getParent().getParent().getFileName().toString() : abs.getFileName().toString();
        SnapshotEvaluator.Candidate candidate = new SnapshotEvaluator.Candidate(name, abs.getFileName().toString(), "offline", 0,
                abs.toUri().toString(), abs, expected, null);

        err.println("evaluating " + abs + " on " + set.size() + " held-out examples of " + data + " (set " + set.sha256().substring(0, 12) + ")");
        err.flush();
        AdapterEvaluation e;
        try (BaseModel base = BaseModel.open(model, compute::backend)) {
            SnapshotEvaluator evaluator = new SnapshotEvaluator(base, Sha256.baseModel(model), settings);
            e = evaluator.evaluate(candidate, set, rel, new ProgressPrinter(err, "  "));
        }
        out.println(json ? toJson(e) : Reports.text(e));
        out.flush();
        return e.getPassed() ? 0 : 1;
    }

    /** manifest.json lists itself only in the event's map, never inside the file; nothing to verify there. */
    private static Map<String, String> withoutManifest(Map<String, String> m) {
        Map<String, String> out = new TreeMap<>(m);
        out.remove(ArtifactVerifier.MANIFEST);
        return out;
    }

    private List<HeldOutExample> readData() throws IOException {
        List<Example> examples = JsonlExamples.read(data);
        List<HeldOutExample> out = new ArrayList<>();
        for (int i = 0; i < examples.size() && out.size() < maxExamples; i++) {
            if (!(examples.get(i) instanceof PromptResponse pr)) {
                throw new IOException(data + ":" + (i + 1) + ": evaluate needs {\"prompt\", \"response\"} lines (the leak probe completes the prompts)");
            }
            out.add(new HeldOutExample("line-" + (i + 1), pr.prompt(), pr.response()));
        }
        if (out.isEmpty()) {
            throw new IOException(data + ": no examples");
        }
        return out;
    }

    static String toJson(AdapterEvaluation e) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        JsonEncoder enc = EncoderFactory.get().jsonEncoder(AdapterEvaluation.getClassSchema(), bytes, true);
        new SpecificDatumWriter<>(AdapterEvaluation.class).write(e, enc);
        enc.flush();
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
