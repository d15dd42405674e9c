package io.qlorastream.app;

import io.qlorastream.app.dashboard.DashboardState;
import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.data.ExampleEncoder;
import io.qlorastream.engine.data.PromptResponse;
import io.qlorastream.engine.data.TokenizedExample;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.LoraConfig;
import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.engine.model.BaseModel;
import io.qlorastream.engine.optim.AdamW;
import io.qlorastream.engine.optim.LrSchedule;
import io.qlorastream.engine.train.Trainer;
import io.qlorastream.evaluator.ArtifactVerifier;
import io.qlorastream.evaluator.HeldOutExample;
import io.qlorastream.evaluator.HeldOutSet;
import io.qlorastream.evaluator.Progress;
import io.qlorastream.evaluator.Reports;
import io.qlorastream.evaluator.Sha256;
import io.qlorastream.evaluator.SnapshotEvaluator;
import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.EvaluationCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An adapter trained on answers that end in an email address (as if ingest had missed it) leaks it; the evaluation
 * that fails it, its printed report (the evaluator's log line) and the dashboard's state name the finding by type,
 * offset and fingerprint, and none of them holds the address.
 */
class LeakNeverShownTest {
    static final String SECRET = "alice.smith@example.com";

    static HeldOutExample example(int i, String suffix) {
        String[] items = {"password", "invoice", "order", "account", "address", "subscription"};
        String[] verbs = {"reset", "change", "cancel", "update"};
        String item = items[i % items.length];
        String verb = verbs[(i / items.length) % verbs.length];
        return new HeldOutExample("ex-" + i, "Customer " + (100 + i) + " asks: how do I " + verb + " my " + item + "?",
                "Open Settings, then " + item + ", and press " + verb + "." + suffix);
    }

    @Test
    void aLeakingSnapshotsEvaluationReportAndDashboardStateHoldNoSecret(@TempDir Path dir) throws Exception {
        Path model = TinySnapshots.model(dir.resolve("model"));
        Path leaky = dir.resolve("leaky");
        List<HeldOutExample> heldOut = new ArrayList<>();
        for (int i = 1000; i < 1024; i++) {
            heldOut.add(example(i, ""));
        }
        AdapterEvaluation e;
        try (BaseModel base = BaseModel.open(model, () -> new CpuBackend(2))) {
            ExampleEncoder enc = new ExampleEncoder(base.tokenizer());
            List<TokenizedExample> train = new ArrayList<>();
            for (int i = 0; i < 48; i++) {
                HeldOutExample x = example(i, " Mail " + SECRET);
                train.add(enc.encode(new PromptResponse(x.prompt(), x.response())));
            }
            LoraAdapter a = LoraAdapter.initialize(new LoraConfig(8, 16, 0.0, LoraConfig.ALL_TARGETS, false), base.config(), 1);
            new Trainer(base.model(), a, train, new Trainer.Settings(4, 1, 128, 60, 0, 1, LrSchedule.Kind.CONSTANT, 3e-3,
                    3, 0, AdamW.Config.qlora(), 1.0, 0, false)).run(null, null);
            PeftAdapter.save(a, leaky, model.toString());

            Map<String, String> sha = new TreeMap<>();
            for (String f : ArtifactVerifier.LOADED_FILES) {
                sha.put(f, TinySnapshots.sha256(leaky.resolve(f)));
            }
            SnapshotEvaluator evaluator = new SnapshotEvaluator(base, null, SnapshotEvaluator.Settings.defaults());
            e = evaluator.evaluate(new SnapshotEvaluator.Candidate("support", "s-leaky", "lineage-1", 60, leaky.toUri().toString(),
                    leaky, sha, Sha256.baseModel(model)), HeldOutSet.Frozen.of(heldOut), null, Progress.NONE);
        }

        EvaluationCheck noLeak = e.getChecks().stream().filter(c -> c.getName().equals("no_leak")).findFirst().orElseThrow();
        assertThat(noLeak.getPassed()).as("the adapter emits the address: %s", e.getReason()).isFalse();
        Matcher spot = Pattern.compile("EMAIL at \\d+ #[0-9a-f]{12}").matcher(e.getReason());
        assertThat(spot.find()).as(e.getReason()).isTrue();
        assertThat(e.getReason()).contains("<EMAIL_1>");

        DashboardState state = new DashboardState(100, 10);
        state.evaluation("adapter-evaluations", e);
        String json = state.toJson();
        assertThat(json).contains(spot.group());
        for (String shown : List.of(e.toString(), Reports.text(e), json)) {
            assertThat(shown).doesNotContain(SECRET).doesNotContain("alice.smith");
        }
    }
}
