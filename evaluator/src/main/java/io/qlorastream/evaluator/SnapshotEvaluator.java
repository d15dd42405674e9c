package io.qlorastream.evaluator;

import io.qlorastream.engine.data.ExampleEncoder;
import io.qlorastream.engine.data.PromptResponse;
import io.qlorastream.engine.data.TokenizedExample;
import io.qlorastream.engine.lora.LoraAdapter;
import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.engine.model.BaseModel;
import io.qlorastream.engine.model.LlamaModel;
import io.qlorastream.engine.model.Scorer;
import io.qlorastream.engine.tokenizer.Tokenizer;
import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.events.EvaluationCheck;
import io.qlorastream.events.LoraConfig;
import io.qlorastream.redact.RedactionType;
import io.qlorastream.redact.Redactor;
import io.qlorastream.schemas.OneLine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

/**
 * Judges one adapter snapshot against the frozen base model (and the current release, when there is one): checksum
 * first, nothing is loaded from a file that does not match; then the mean NLL per target token of candidate, base
 * and release on one held-out set, the NLL of candidate and base on the shipped general text, and the leak probe.
 * The result is the {@link AdapterEvaluation} event with every metric, each check and a one-line reason.
 * Scores of the base (per held-out set) and of a release (per release and set) are cached: they do not change
 * between snapshots. Not thread-safe (one evaluation at a time, as the CPU backend requires).
 */
public final class SnapshotEvaluator {
    public static final String CHECK_ARTIFACT = "artifact";
    public static final String CHECK_CHECKSUM = "checksum";
    public static final String CHECK_BASE_MODEL = "base_model";
    public static final String CHECK_HELDOUT = "heldout_set";
    public static final String CHECK_LOADABLE = "loadable";
    public static final String CHECK_BEATS_BASE = "beats_base";
    public static final String CHECK_RELEASE = "not_worse_than_release";
    public static final String CHECK_GENERAL = "general_forgetting";
    public static final String CHECK_NO_LEAK = "no_leak";

    /**
     * @param batchSize         examples per forward pass while scoring
     * @param maxSeqLen         longer examples are cut to this many tokens, as the trainer cuts them
     * @param generalParagraphs how many paragraphs of the general-text set to score (all: Integer.MAX_VALUE)
     * @param probePrompts      how many held-out prompts the leak probe completes (the first ones of the set)
     * @param probeMaxNewTokens the length of each probe completion
     * @param leakTypes         what the leak probe counts (redaction types; all by default)
     */
    public record Settings(GateThresholds thresholds, int batchSize, int maxSeqLen, int generalParagraphs,
                           int probePrompts, int probeMaxNewTokens, Set<RedactionType> leakTypes) {
        public Settings {
            if (leakTypes == null || leakTypes.isEmpty()) {
                throw new IllegalArgumentException("--leak-types must name at least one of " + java.util.Arrays.toString(RedactionType.values()));
            }
            leakTypes = java.util.Collections.unmodifiableSet(java.util.EnumSet.copyOf(leakTypes));
            if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
            if (maxSeqLen < 2) throw new IllegalArgumentException("--max-seq-len must be at least 2, got " + maxSeqLen);
            if (generalParagraphs < 1) throw new IllegalArgumentException("--general-paragraphs must be at least 1, got " + generalParagraphs);
            if (probePrompts < 0) throw new IllegalArgumentException("--probe-prompts must be >= 0, got " + probePrompts);
            if (probeMaxNewTokens < 1) throw new IllegalArgumentException("--probe-max-new-tokens must be at least 1, got " + probeMaxNewTokens);
            if (probeMaxNewTokens >= maxSeqLen) {
                throw new IllegalArgumentException("--probe-max-new-tokens (" + probeMaxNewTokens + ") must be below --max-seq-len (" + maxSeqLen + ")");
            }
        }

        public static Settings defaults() {
            return new Settings(GateThresholds.defaults(), 4, 512, Integer.MAX_VALUE, 16, 48, java.util.EnumSet.allOf(RedactionType.class));
        }

        public Settings withThresholds(GateThresholds t) {
            return new Settings(t, batchSize, maxSeqLen, generalParagraphs, probePrompts, probeMaxNewTokens, leakTypes);
        }
    }

    /**
     * The snapshot to judge, its files already in {@code dir}; {@code expectedSha256} empty: not verified. The base
     * model and LoRA config it declares go into the verdict, so that its readers need not look the snapshot up.
     */
    public record Candidate(String adapterName, String snapshotId, String lineageId, long step, String artifactUri,
                            Path dir, Map<String, String> expectedSha256, String baseModelHash, String baseModelName,
                            LoraConfig loraConfig) {
        public Candidate {
            expectedSha256 = Map.copyOf(expectedSha256);
        }

        /** A snapshot that declares no base model name or LoRA config (a directory judged offline). */
        public Candidate(String adapterName, String snapshotId, String lineageId, long step, String artifactUri,
                         Path dir, Map<String, String> expectedSha256, String baseModelHash) {
            this(adapterName, snapshotId, lineageId, step, artifactUri, dir, expectedSha256, baseModelHash, null, null);
        }

        /** The snapshot of a trainer's event, its files to be fetched into {@code dir}. */
        public static Candidate of(AdapterSnapshot s, Path dir) {
            return new Candidate(s.getAdapterName(), s.getSnapshotId(), s.getLineageId(), s.getStep(), s.getArtifactUri(), dir,
                    s.getArtifactSha256(), s.getBaseModelHash(), s.getBaseModelName(), s.getLoraConfig());
        }
    }

    /**
     * The adapter currently released under the same name: its files in {@code dir} (verified here against
     * {@code expectedSha256}), or {@code failure} when they could not be fetched.
     */
    public record Release(int version, Path dir, Map<String, String> expectedSha256, String failure) {
        public Release {
            expectedSha256 = expectedSha256 == null ? Map.of() : Map.copyOf(expectedSha256);
        }
    }

    private record Score(double meanNll, long targetTokens) {
    }

    private final BaseModel baseModel;
    private final String baseModelHash;
    private final Settings settings;
    private final ExampleEncoder encoder;
    private final LeakProbe probe;
    private final List<TokenizedExample> general;
    private final Map<String, Score> baseScores = new HashMap<>();
    private final Map<String, Score> releaseScores = new HashMap<>();
    private Score generalBase;

    /**
     * @param baseModel     the base model every candidate is an adapter of (the caller closes it)
     * @param baseModelHash the base model's fingerprint ({@link Sha256#baseModel}); null: not compared
     */
    public SnapshotEvaluator(BaseModel baseModel, String baseModelHash, Settings settings) {
        this.baseModel = baseModel;
        Tokenizer tokenizer = baseModel.tokenizer();
        this.baseModelHash = baseModelHash;
        this.settings = settings;
        this.encoder = new ExampleEncoder(tokenizer);
        this.probe = new LeakProbe(tokenizer, baseModel.eosIds(), new Redactor(settings.leakTypes()), settings.probeMaxNewTokens(),
                settings.maxSeqLen() - settings.probeMaxNewTokens(), LeakProbe.randomSalt());
        this.general = GeneralText.encode(tokenizer, settings.generalParagraphs(), settings.maxSeqLen());
    }

    public Settings settings() {
        return settings;
    }

    /** The verdict for a candidate whose files the adapter store refused (checksum mismatch while fetching). */
    public AdapterEvaluation rejectedArtifact(Candidate c, HeldOutSet.Frozen set, Integer releaseVersion, String problem) {
        Map<String, Double> metrics = new LinkedHashMap<>();
        List<EvaluationCheck> checks = List.of(check(CHECK_CHECKSUM, 1, 0, false));
        return event(c, set, releaseVersion, metrics, checks, "failed checksum: " + problem);
    }

    /** The verdict for a candidate whose artifact is not in the store (deleted, or a URI that names nothing). */
    public AdapterEvaluation unavailableArtifact(Candidate c, HeldOutSet.Frozen set, Integer releaseVersion, String problem) {
        List<EvaluationCheck> checks = List.of(check(CHECK_ARTIFACT, 0, 1, false));
        return event(c, set, releaseVersion, new LinkedHashMap<>(), checks, "failed artifact: " + problem);
    }

    public AdapterEvaluation evaluate(Candidate c, HeldOutSet.Frozen set, Release release, Progress progress) throws IOException {
        long started = System.nanoTime();
        Integer releaseVersion = release == null ? null : release.version();
        Map<String, Double> metrics = new LinkedHashMap<>();
        List<EvaluationCheck> checks = new ArrayList<>();

        // 1. checksum, before a byte of the candidate is parsed
        if (!c.expectedSha256().isEmpty()) {
            List<String> problems = ArtifactVerifier.mismatches(c.dir(), c.expectedSha256());
            checks.add(check(CHECK_CHECKSUM, problems.size(), 0, problems.isEmpty()));
            if (!problems.isEmpty()) {
                return event(c, set, releaseVersion, metrics, checks, "failed checksum: " + String.join("; ", problems));
            }
        }
        // 2. the adapter was trained on this base model
        if (baseModelHash != null && c.baseModelHash() != null && !c.baseModelHash().isEmpty()) {
            boolean same = baseModelHash.equalsIgnoreCase(c.baseModelHash());
            checks.add(check(CHECK_BASE_MODEL, same ? 1 : 0, 1, same));
            if (!same) {
                return event(c, set, releaseVersion, metrics, checks, "failed base_model: the snapshot was trained on base "
                        + ArtifactVerifier.abbreviate(c.baseModelHash()) + ", this evaluator serves " + ArtifactVerifier.abbreviate(baseModelHash));
            }
        }
        // 3. something to score on
        metrics.put("heldout_examples", (double) set.size());
        checks.add(check(CHECK_HELDOUT, set.size(), 1, set.size() >= 1));
        if (set.size() == 0) {
            return event(c, set, releaseVersion, metrics, checks,
                    "failed heldout_set: no eval-examples for adapter " + c.adapterName() + " yet, nothing to judge the snapshot on");
        }
        LoraAdapter adapter;
        try {
            adapter = PeftAdapter.load(c.dir(), baseModel.config());
        } catch (IOException | IllegalArgumentException e) {
            checks.add(check(CHECK_LOADABLE, 0, 1, false));
            return event(c, set, releaseVersion, metrics, checks, "failed loadable: " + e.getMessage());
        }
        checks.add(check(CHECK_LOADABLE, 1, 1, true));

        // 4. scores: held-out NLL of candidate, base and current release; general-text NLL; the leak probe
        List<TokenizedExample> heldOut = new ArrayList<>(set.size());
        for (HeldOutExample e : set.examples()) {
            heldOut.add(encoder.encode(new PromptResponse(e.prompt(), e.response())).truncate(settings.maxSeqLen()));
        }
        LlamaModel base = baseModel.model();
        LlamaModel candidate = baseModel.model();
        candidate.attachLora(adapter, null);
        Score cand = score(candidate, heldOut, "candidate held-out NLL", progress);
        Score baseScore = baseScores.get(set.sha256());
        if (baseScore == null) {
            baseScore = score(base, heldOut, "base held-out NLL", progress);
            baseScores.clear(); // one set per adapter is current; keep the map small
            baseScores.put(set.sha256(), baseScore);
        }
        ReleaseScore rel = release == null ? null : scoreRelease(release, heldOut, set, progress);
        Score generalCand = score(candidate, general, "candidate general-text NLL", progress);
        if (generalBase == null) {
            generalBase = score(base, general, "base general-text NLL", progress);
        }
        List<String> prompts = set.examples().stream().limit(settings.probePrompts()).map(HeldOutExample::prompt).toList();
        LeakProbe.Result leaks = probe.run(candidate, prompts, (done, total) -> progress.update("leak probe", done, total));
        GateCheck.Scores s = new GateCheck.Scores(cand.meanNll(), baseScore.meanNll(), releaseVersion,
                rel == null || rel.score() == null ? null : rel.score().meanNll(), rel == null ? null : rel.problem(),
                generalCand.meanNll(), generalBase.meanNll(), leaks);

        metrics.put("heldout_target_tokens", (double) cand.targetTokens());
        metrics.put("candidate_nll", cand.meanNll());
        metrics.put("base_nll", baseScore.meanNll());
        metrics.put("candidate_perplexity", Math.exp(cand.meanNll()));
        metrics.put("base_perplexity", Math.exp(baseScore.meanNll()));
        metrics.put("margin_over_base", GateCheck.BEATS_BASE.measure().applyAsDouble(s));
        if (s.releaseNll() != null) {
            metrics.put("current_release_nll", s.releaseNll());
            metrics.put("delta_vs_release", GateCheck.NOT_WORSE_THAN_RELEASE.measure().applyAsDouble(s));
        }
        metrics.put("general_target_tokens", (double) generalBase.targetTokens());
        metrics.put("general_candidate_nll", generalCand.meanNll());
        metrics.put("general_base_nll", generalBase.meanNll());
        metrics.put("general_nll_rise", GateCheck.GENERAL_FORGETTING.measure().applyAsDouble(s));
        metrics.put("leak_probe_prompts", (double) leaks.prompts());
        metrics.put("leaks", (double) leaks.leakingCompletions());
        for (Map.Entry<RedactionType, Integer> e : leaks.byType().entrySet()) {
            metrics.put("leaks_" + e.getKey().name().toLowerCase(Locale.ROOT), (double) e.getValue());
        }
        metrics.put("evaluation_seconds", (System.nanoTime() - started) / 1e9);

        // 5. the gate: every check that applies, each failure named in the reason
        GateThresholds t = settings.thresholds();
        List<String> failures = new ArrayList<>();
        for (GateCheck gate : GateCheck.GATE) {
            if (gate.applies().test(s)) {
                EvaluationCheck result = gate.check(s, t);
                checks.add(result);
                if (!result.getPassed()) {
                    failures.add(gate.failure(s, result));
                }
            }
        }
        String reason = failures.isEmpty()
                ? String.format(Locale.ROOT, "passed: held-out NLL %.4f vs base %.4f (margin %.4f)%s, general-text rise %.4f, no leak in %d probe completions",
                        cand.meanNll(), baseScore.meanNll(), metrics.get("margin_over_base"),
                        s.releaseNll() != null ? String.format(Locale.ROOT, " and release v%d %.4f", releaseVersion, s.releaseNll()) : "",
                        metrics.get("general_nll_rise"), leaks.prompts())
                : "failed " + String.join("; ", failures);
        return event(c, set, releaseVersion, metrics, checks, reason);
    }

    /** A release's held-out score, or why it has none (it could not be fetched, verified or loaded). */
    private record ReleaseScore(Score score, String problem) {
    }

    private ReleaseScore scoreRelease(Release release, List<TokenizedExample> heldOut, HeldOutSet.Frozen set, Progress progress)
            throws IOException {
        if (release.failure() != null) {
            return new ReleaseScore(null, release.failure());
        }
        List<String> bad = release.expectedSha256().isEmpty() ? List.of() : ArtifactVerifier.mismatches(release.dir(), release.expectedSha256());
        if (!bad.isEmpty()) {
            return new ReleaseScore(null, "its files fail verification (" + String.join("; ", bad) + ")");
        }
        String key = release.version() + "/" + Sha256.of(release.dir().resolve(PeftAdapter.WEIGHTS_FILE)) + "/" + set.sha256();
        Score rel = releaseScores.get(key);
        if (rel == null) {
            try {
                LlamaModel released = baseModel.model();
                released.attachLora(PeftAdapter.load(release.dir(), baseModel.config()), null);
                rel = score(released, heldOut, "release v" + release.version() + " held-out NLL", progress);
                releaseScores.clear();
                releaseScores.put(key, rel);
            } catch (IOException | IllegalArgumentException e) {
                return new ReleaseScore(null, "it cannot be loaded (" + e.getMessage() + ")");
            }
        }
        return new ReleaseScore(rel, null);
    }

    /** Token-weighted mean NLL over all examples, one Scorer batch at a time so that progress can be shown. */
    private Score score(LlamaModel model, List<TokenizedExample> data, String stage, Progress progress) {
        Scorer scorer = new Scorer(model, settings.batchSize());
        int batches = (data.size() + settings.batchSize() - 1) / settings.batchSize();
        double nll = 0;
        long tokens = 0;
        for (int b = 0; b < batches; b++) {
            List<TokenizedExample> chunk = data.subList(b * settings.batchSize(), Math.min(data.size(), (b + 1) * settings.batchSize()));
            Scorer.Result r = scorer.score(chunk.stream().map(TokenizedExample::inputIds).toList(),
                    chunk.stream().map(TokenizedExample::labels).toList());
            if (r.targetTokens() > 0) {
                nll += r.meanNll() * r.targetTokens();
                tokens += r.targetTokens();
            }
            progress.update(stage, b + 1, batches);
        }
        return new Score(tokens == 0 ? Double.NaN : nll / tokens, tokens);
    }

    private static EvaluationCheck check(String name, double value, double threshold, boolean passed) {
        return EvaluationCheck.newBuilder().setName(name).setValue(value).setThreshold(threshold).setPassed(passed).build();
    }

    private static AdapterEvaluation event(Candidate c, HeldOutSet.Frozen set, Integer releaseVersion, Map<String, Double> metrics,
                                           List<EvaluationCheck> checks, String reason) {
        boolean passed = !checks.isEmpty() && checks.stream().allMatch(EvaluationCheck::getPassed);
        return AdapterEvaluation.newBuilder()
                .setEvaluationId(evaluationId(c.adapterName(), c.snapshotId(), set.sha256()))
                .setAdapterName(c.adapterName())
                .setSnapshotId(c.snapshotId())
                .setLineageId(c.lineageId())
                .setStep(c.step())
                .setArtifactUri(c.artifactUri())
                .setArtifactSha256(new TreeMap<>(c.expectedSha256()))
                .setHeldoutSetHash(set.sha256())
                .setHeldoutSetSize(set.size())
                .setCurrentReleaseVersion(releaseVersion)
                .setMetrics(new LinkedHashMap<>(metrics))
                .setChecks(new ArrayList<>(checks))
                .setPassed(passed)
                .setReason(reason.replaceAll("[\\r\\n]+", " "))
                .setEvaluatedAt(Instant.now())
                .setBaseModelName(c.baseModelName())
                .setBaseModelHash(c.baseModelHash())
                .setLoraConfig(c.loraConfig())
                .build();
    }

    /** Deterministic: judging the same snapshot on the same set again (after a crash before commit) gives the same id. */
    public static String evaluationId(String adapter, String snapshotId, String setHash) {
        return UUID.nameUUIDFromBytes((adapter + "\u0000" + snapshotId + "\u0000" + setHash).getBytes(StandardCharsets.UTF_8)).toString();
    }
}
