package io.qlorastream.evaluator;

import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.engine.lora.LoraModule;
import io.qlorastream.engine.data.ExampleEncoder;
import io.qlorastream.engine.model.Generator;
import io.qlorastream.engine.model.LlamaModel;
import io.qlorastream.engine.model.Sampling;
import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.events.LoraConfig;
import io.qlorastream.events.EvaluationCheck;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** The gate on adapters trained with the engine on a tiny model: pass, NLL failure, leak, checksum, release. */
class SnapshotEvaluatorTest {
    @TempDir
    static Path dir;
    static TinyWorld world;
    static SnapshotEvaluator evaluator;
    static HeldOutSet.Frozen heldOut;
    static Path good;

    @BeforeAll
    static void setUp() throws Exception {
        world = new TinyWorld(dir);
        evaluator = new SnapshotEvaluator(world.base, Sha256.baseModel(world.modelDir),
                SnapshotEvaluator.Settings.defaults());
        heldOut = HeldOutSet.Frozen.of(TinyWorld.support(1000, 24)); // ids and customers never trained on
        good = dir.resolve("good");
        world.train(TinyWorld.support(0, 48), 60, 3e-3, good);
    }

    @AfterAll
    static void tearDown() {
        world.close();
    }

    static Map<String, String> sha(Path d) throws IOException {
        Map<String, String> m = new TreeMap<>();
        for (String f : ArtifactVerifier.LOADED_FILES) {
            m.put(f, Sha256.of(d.resolve(f)));
        }
        return m;
    }

    static SnapshotEvaluator.Candidate candidate(String id, Path d, Map<String, String> sha) throws IOException {
        return new SnapshotEvaluator.Candidate("support", id, "lineage-1", 60, d.toUri().toString(), d, sha,
                Sha256.baseModel(world.modelDir));
    }

    static Map<String, EvaluationCheck> checks(AdapterEvaluation e) {
        return e.getChecks().stream().collect(Collectors.toMap(EvaluationCheck::getName, c -> c));
    }

    @Test
    void aTrainedSnapshotPassesAgainstTheBaseWithEveryMetricAndCheck() throws Exception {
        List<String> stages = new ArrayList<>();
        SnapshotEvaluator fresh = new SnapshotEvaluator(world.base, Sha256.baseModel(world.modelDir),
                SnapshotEvaluator.Settings.defaults()); // nothing cached: every stage runs
        AdapterEvaluation e = fresh.evaluate(candidate("s-good", good, sha(good)), heldOut, null,
                (stage, done, total) -> stages.add(stage + " " + done + "/" + total));
        assertThat(e.getPassed()).as(Reports.text(e)).isTrue();
        assertThat(e.getReason()).startsWith("passed: held-out NLL");
        assertThat(e.getHeldoutSetHash()).isEqualTo(heldOut.sha256());
        assertThat(e.getHeldoutSetSize()).isEqualTo(24);
        assertThat(e.getCurrentReleaseVersion()).isNull();
        assertThat(e.getArtifactSha256()).isEqualTo(sha(good));
        assertThat(e.getMetrics()).containsKeys("candidate_nll", "base_nll", "general_candidate_nll", "general_base_nll", "leaks",
                "margin_over_base", "general_nll_rise", "leak_probe_prompts");
        assertThat(e.getMetrics().get("candidate_nll")).isLessThan(e.getMetrics().get("base_nll") - 0.3);
        assertThat(e.getMetrics().get("leaks")).isZero();
        assertThat(checks(e).keySet()).containsExactlyInAnyOrder("checksum", "base_model", "heldout_set", "loadable", "beats_base",
                "general_forgetting", "no_leak");
        assertThat(e.getChecks()).allMatch(EvaluationCheck::getPassed);
        EvaluationCheck beats = checks(e).get("beats_base");
        assertThat(beats.getThreshold()).isEqualTo(GateThresholds.DEFAULT_MIN_MARGIN);
        assertThat(beats.getValue()).isEqualTo(e.getMetrics().get("margin_over_base"));
        assertThat(stages).contains("candidate held-out NLL 6/6", "base held-out NLL 6/6", "leak probe 16/16");
        assertThat(e.getEvaluationId()).isEqualTo(SnapshotEvaluator.evaluationId("support", "s-good", heldOut.sha256()));

        // a stricter margin than the adapter achieves fails the same snapshot, with the threshold in the reason
        double margin = e.getMetrics().get("margin_over_base");
        SnapshotEvaluator strict = new SnapshotEvaluator(world.base, null,
                SnapshotEvaluator.Settings.defaults().withThresholds(new GateThresholds(margin + 0.5, 0.01, 0.1, 0)));
        AdapterEvaluation s = strict.evaluate(candidate("s-good", good, sha(good)), heldOut, null, Progress.NONE);
        assertThat(s.getPassed()).isFalse();
        assertThat(s.getReason()).startsWith("failed beats_base");
    }

    @Test
    void corruptedAdapterWeightsFailOnNll() throws Exception {
        // weights that parse and carry valid checksums but are wrong (a sign bug in a writer, a bad merge): every
        // lora_B flipped and amplified, so the update pushes away from what was learned
        LoraAdapter a = PeftAdapter.load(good, world.base.config());
        for (LoraModule m : a.modules()) {
            for (int i = m.bOffset; i < m.bOffset + m.out * m.r; i++) {
                a.params[i] *= -3f;
            }
        }
        Path bad = dir.resolve("corrupt");
        PeftAdapter.save(a, bad, world.modelDir.toString());
        AdapterEvaluation e = evaluator.evaluate(candidate("s-corrupt", bad, sha(bad)), heldOut, null, Progress.NONE);
        assertThat(e.getPassed()).as(Reports.text(e)).isFalse();
        assertThat(checks(e).get("checksum").getPassed()).isTrue();
        assertThat(checks(e).get("beats_base").getPassed()).isFalse();
        assertThat(e.getMetrics().get("candidate_nll")).isGreaterThan(e.getMetrics().get("base_nll"));
        assertThat(e.getReason()).startsWith("failed beats_base: held-out NLL");
    }

    @Test
    void anAdapterThatEmitsAnEmailAddressFailsTheLeakProbe() throws Exception {
        Path leaky = dir.resolve("leaky");
        world.train(TinyWorld.leaking(0, 48), 60, 3e-3, leaky);

        // it really does emit the address for prompts it never saw
        LlamaModel model = world.base.model();
        model.attachLora(PeftAdapter.load(leaky, world.base.config()), null);
        Set<Integer> eos = new HashSet<>(world.base.tokenizer().eosIds());
        int[] out = new Generator(model).generate(new ExampleEncoder(world.base.tokenizer()).encodePrompt(heldOut.examples().get(0).prompt()),
                48, eos, Sampling.greedy(), t -> { });
        String completion = world.base.tokenizer().decode(out);
        assertThat(completion).contains(TinyWorld.LEAKED_EMAIL);

        AdapterEvaluation e = evaluator.evaluate(candidate("s-leaky", leaky, sha(leaky)), heldOut, null, Progress.NONE);
        assertThat(e.getPassed()).as(Reports.text(e)).isFalse();
        EvaluationCheck leak = checks(e).get("no_leak");
        assertThat(leak.getPassed()).isFalse();
        assertThat(leak.getValue()).isGreaterThan(0).isEqualTo(e.getMetrics().get("leaks"));
        assertThat(e.getMetrics().get("leaks_email")).isPositive();
        assertThat(checks(e).get("beats_base").getPassed()).as("it learned the domain too: only the leak fails it").isTrue();
        // the reason names the finding by type, offset and salted fingerprint, and shows the completion redacted:
        // it goes to adapter-evaluations, the dashboard and the logs, where the address must not reappear
        assertThat(e.getReason()).contains("no_leak").contains("<EMAIL_1>")
                .doesNotContain(TinyWorld.LEAKED_EMAIL).doesNotContain("alice.smith").doesNotContain("@example.com");
        java.util.regex.Matcher spot = java.util.regex.Pattern.compile("EMAIL at (\\d+) #([0-9a-f]{12})").matcher(e.getReason());
        assertThat(spot.find()).as(e.getReason()).isTrue();
        assertThat(Integer.parseInt(spot.group(1))).as("the offset of the first probe's address").isEqualTo(completion.indexOf(TinyWorld.LEAKED_EMAIL));
        assertThat(Reports.text(e)).doesNotContain(TinyWorld.LEAKED_EMAIL);
        assertThat(e.toString()).as("nowhere in the event").doesNotContain(TinyWorld.LEAKED_EMAIL);

        // the probe counts the configured types only: a policy that allows emails (a support address) lets it pass
        SnapshotEvaluator.Settings d = SnapshotEvaluator.Settings.defaults();
        SnapshotEvaluator cardsOnly = new SnapshotEvaluator(world.base, null,
                new SnapshotEvaluator.Settings(d.thresholds(), d.batchSize(), d.maxSeqLen(), d.generalParagraphs(), d.probePrompts(),
                        d.probeMaxNewTokens(), java.util.EnumSet.of(io.qlorastream.redact.RedactionType.CARD)));
        AdapterEvaluation allowed = cardsOnly.evaluate(candidate("s-leaky", leaky, sha(leaky)), heldOut, null, Progress.NONE);
        assertThat(checks(allowed).get("no_leak").getPassed()).as(Reports.text(allowed)).isTrue();
    }

    @Test
    void aTamperedFileFailsTheChecksumAndNothingIsScored() throws Exception {
        Path copy = dir.resolve("tampered");
        Files.createDirectories(copy);
        for (String f : ArtifactVerifier.LOADED_FILES) {
            Files.copy(good.resolve(f), copy.resolve(f));
        }
        Map<String, String> expected = sha(copy);
        try (RandomAccessFile raf = new RandomAccessFile(copy.resolve(PeftAdapter.WEIGHTS_FILE).toFile(), "rw")) {
            long at = raf.length() - 10;
            raf.seek(at);
            int b = raf.read();
            raf.seek(at);
            raf.write(b ^ 0x40);
        }
        AdapterEvaluation e = evaluator.evaluate(candidate("s-tampered", copy, expected), heldOut, null, Progress.NONE);
        assertThat(e.getPassed()).isFalse();
        assertThat(e.getChecks()).hasSize(1);
        EvaluationCheck c = e.getChecks().get(0);
        assertThat(c.getName()).isEqualTo("checksum");
        assertThat(c.getPassed()).isFalse();
        assertThat(c.getValue()).isEqualTo(1.0);
        assertThat(e.getMetrics()).doesNotContainKey("candidate_nll");
        assertThat(e.getReason()).startsWith("failed checksum: adapter_model.safetensors: SHA-256");

        // a missing file and an uncovered file are checksum failures as well
        AdapterEvaluation uncovered = evaluator.evaluate(candidate("s-uncovered", good,
                Map.of(PeftAdapter.CONFIG_FILE, expected.get(PeftAdapter.CONFIG_FILE))), heldOut, null, Progress.NONE);
        assertThat(uncovered.getReason()).contains("adapter_model.safetensors: no expected SHA-256");
    }

    @Test
    void theCandidateIsComparedWithTheCurrentRelease() throws Exception {
        Path weaker = dir.resolve("weaker");
        world.train(TinyWorld.support(0, 48), 8, 3e-3, weaker);
        // the well-trained adapter is released; a weaker snapshot beats the base but not the release
        SnapshotEvaluator.Release release = new SnapshotEvaluator.Release(3, good, sha(good), null);
        AdapterEvaluation e = evaluator.evaluate(candidate("s-weaker", weaker, sha(weaker)), heldOut, release, Progress.NONE);
        assertThat(e.getCurrentReleaseVersion()).isEqualTo(3);
        assertThat(e.getMetrics()).containsKey("current_release_nll");
        assertThat(checks(e).get("beats_base").getPassed()).as(Reports.text(e)).isTrue();
        assertThat(checks(e).get("not_worse_than_release").getPassed()).as(Reports.text(e)).isFalse();
        assertThat(e.getPassed()).isFalse();
        assertThat(e.getReason()).contains("not_worse_than_release").contains("release v3");

        // the release itself, judged again, is within the tolerance of itself
        AdapterEvaluation same = evaluator.evaluate(candidate("s-same", good, sha(good)), heldOut, release, Progress.NONE);
        assertThat(same.getPassed()).as(Reports.text(same)).isTrue();
        assertThat(same.getMetrics().get("delta_vs_release")).isZero();

        // a release whose files do not verify cannot be compared with: fail closed
        SnapshotEvaluator.Release broken = new SnapshotEvaluator.Release(4, good, Map.of(PeftAdapter.CONFIG_FILE, "00",
                PeftAdapter.WEIGHTS_FILE, "00"), null);
        AdapterEvaluation closed = evaluator.evaluate(candidate("s-good2", good, sha(good)), heldOut, broken, Progress.NONE);
        assertThat(closed.getPassed()).isFalse();
        assertThat(closed.getReason()).contains("current release v4 could not be scored");
    }

    @Test
    void anEmptyHeldOutSetOrAnotherBaseModelIsNoPass() throws Exception {
        AdapterEvaluation empty = evaluator.evaluate(candidate("s-empty", good, sha(good)), HeldOutSet.Frozen.of(List.of()), null, Progress.NONE);
        assertThat(empty.getPassed()).isFalse();
        assertThat(empty.getReason()).contains("no eval-examples for adapter support");
        SnapshotEvaluator.Candidate other = new SnapshotEvaluator.Candidate("support", "s-other", "l", 1, "file:/x", good, sha(good),
                "ab".repeat(32));
        AdapterEvaluation e = evaluator.evaluate(other, heldOut, null, Progress.NONE);
        assertThat(e.getPassed()).isFalse();
        assertThat(checks(e).get("base_model").getPassed()).isFalse();
    }

    @Test
    void theVerdictCarriesTheBaseModelAndLoraConfigItsSnapshotDeclared() throws Exception {
        LoraConfig lora = new LoraConfig(8, 16.0, 0.05, false, List.of("q_proj", "v_proj"));
        AdapterSnapshot s = AdapterSnapshot.newBuilder().setAdapterName("support").setSnapshotId("s-origin").setLineageId("lineage-1")
                .setStep(60).setExamplesSeen(48).setTokensSeen(1000).setTrainingLoss(4.2).setBaseModelName("tiny-base")
                .setBaseModelHash(Sha256.baseModel(world.modelDir)).setLoraConfig(lora).setArtifactUri(good.toUri().toString())
                .setArtifactSha256(sha(good)).setOffsetRanges(List.of()).setCreatedAt(Instant.now()).build();
        SnapshotEvaluator.Candidate c = SnapshotEvaluator.Candidate.of(s, good);
        for (AdapterEvaluation e : List.of(evaluator.evaluate(c, heldOut, null, Progress.NONE),
                evaluator.rejectedArtifact(c, heldOut, null, "bad"), evaluator.unavailableArtifact(c, heldOut, null, "gone"))) {
            assertThat(e.getSnapshotId()).isEqualTo("s-origin");
            assertThat(e.getBaseModelName()).isEqualTo("tiny-base");
            assertThat(e.getBaseModelHash()).isEqualTo(s.getBaseModelHash());
            assertThat(e.getLoraConfig()).isEqualTo(lora);
        }
        // a directory judged offline declares neither
        AdapterEvaluation offline = evaluator.rejectedArtifact(candidate("s-offline", good, sha(good)), heldOut, null, "bad");
        assertThat(offline.getBaseModelName()).isNull();
        assertThat(offline.getLoraConfig()).isNull();
    }
}
