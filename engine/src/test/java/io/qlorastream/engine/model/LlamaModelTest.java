package io.qlorastream.engine.model;

import io.qlorastream.engine.compute.CpuBackend;
import io.qlorastream.engine.config.LlamaConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fp32 engine forward against {@link ReferenceLlama} (double precision, plain loops). Tolerance: the engine runs
 * in fp32 through a few layers, so logits (magnitude ≈ 1–5) agree to 1e-3 absolute + 1e-3 relative.
 */
class LlamaModelTest {
    static CpuBackend be;

    @BeforeAll
    static void start() {
        be = new CpuBackend(2);
    }

    @AfterAll
    static void stop() {
        be.close();
    }

    static Stream<Arguments> shapes() {
        LlamaConfig.RopeScaling llama3 = new LlamaConfig.RopeScaling("llama3", 8, 1, 4, 32);
        return Stream.of(
                Arguments.of("GQA, NF4, untied, odd intermediate",
                        TestModels.config("LlamaForCausalLM", 37, 48, 75, 2, 6, 2, false, false, null), true),
                Arguments.of("MHA, dense, tied embeddings",
                        TestModels.config("LlamaForCausalLM", 29, 36, 50, 2, 3, 3, true, false, null), false),
                Arguments.of("Qwen2 q/k/v biases",
                        TestModels.config("Qwen2ForCausalLM", 31, 32, 44, 2, 4, 2, false, false, null), true),
                Arguments.of("Llama attention_bias (q/k/v/o)",
                        TestModels.config("LlamaForCausalLM", 23, 24, 40, 1, 2, 1, true, true, null), false),
                Arguments.of("llama3 rope scaling, multi-query",
                        TestModels.config("LlamaForCausalLM", 41, 32, 64, 2, 2, 1, false, false, llama3), true));
    }

    static void assertClose(float actual, double expected, String what) {
        assertThat(Math.abs(actual - expected)).as("%s: %s vs reference %s", what, actual, expected)
                .isLessThanOrEqualTo(1e-3 + 1e-3 * Math.abs(expected));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void rightPaddedBatchMatchesTheReference(String name, LlamaConfig config, boolean nf4) {
        LlamaWeights w = TestModels.build(config, nf4, 42);
        LlamaModel model = new LlamaModel(w, be);
        int[][] seqs = {{1, 5, 9, 3, 7, 11, 4}, {2, 8, 6, 12}, {10}};
        int t = 7, b = seqs.length, vocab = config.vocabSize();
        int[] tokens = new int[b * t];
        int[] mask = new int[b * t];
        for (int i = 0; i < b; i++) {
            Arrays.fill(tokens, i * t, (i + 1) * t, 13); // padding id: must not influence real positions
            System.arraycopy(seqs[i], 0, tokens, i * t, seqs[i].length);
            Arrays.fill(mask, i * t, i * t + seqs[i].length, 1);
        }
        LlamaModel.Activations acts = model.allocate(b, t, false);
        model.forward(acts, tokens, mask, b, t);
        for (int i = 0; i < b; i++) {
            double[][] ref = ReferenceLlama.logits(w, seqs[i]);
            for (int p = 0; p < seqs[i].length; p++) {
                for (int v = 0; v < vocab; v++) {
                    assertClose(acts.logits[(i * t + p) * vocab + v], ref[p][v], name + " seq " + i + " pos " + p + " tok " + v);
                }
            }
        }
        // keeping per-layer activations (the layout a backward uses) computes the same logits
        LlamaModel.Activations kept = model.allocate(b, t, true);
        model.forward(kept, tokens, mask, b, t);
        assertThat(kept.logits).containsExactly(acts.logits);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void kvCacheDecodingEqualsRecomputingTheWholeSequence(String name, LlamaConfig config, boolean nf4) {
        LlamaModel model = new LlamaModel(TestModels.build(config, nf4, 7), be);
        int vocab = config.vocabSize();
        int[] prompt = {1, 4, 9};
        int[] generated = new Generator(model).generate(prompt, 8, Set.of(), Sampling.greedy(), tok -> { });
        assertThat(generated).hasSize(8);

        LlamaModel.KvCache cache = model.newCache(prompt.length + generated.length);
        float[] cached = model.forwardCached(model.allocateDecode(prompt.length, cache.capacity), cache, prompt).clone();
        LlamaModel.Activations step = model.allocateDecode(1, cache.capacity);
        for (int i = 0; i < generated.length; i++) {
            int[] seq = new int[prompt.length + i];
            System.arraycopy(prompt, 0, seq, 0, prompt.length);
            System.arraycopy(generated, 0, seq, prompt.length, i);
            LlamaModel.Activations full = model.allocate(1, seq.length, false);
            model.forward(full, seq, null, 1, seq.length);
            float[] last = Arrays.copyOfRange(full.logits, (seq.length - 1) * vocab, seq.length * vocab);
            for (int v = 0; v < vocab; v++) {
                assertThat(Math.abs(cached[v] - last[v])).as("step %d token %d", i, v).isLessThan(1e-4f);
            }
            assertThat(Sampling.argmax(last, vocab)).as("greedy token %d", i).isEqualTo(generated[i]);
            cached = model.forwardCached(step, cache, new int[]{generated[i]}).clone();
        }
        assertThat(cache.length()).isEqualTo(prompt.length + generated.length);
    }

    @Test
    void generationStopsAtEosAndStreamsEveryToken() {
        LlamaConfig config = TestModels.config("LlamaForCausalLM", 37, 48, 75, 2, 6, 2, false, false, null);
        LlamaModel model = new LlamaModel(TestModels.build(config, true, 3), be);
        int[] free = new Generator(model).generate(new int[]{1, 2}, 6, Set.of(), Sampling.greedy(), t -> { });
        int eos = free[2];
        List<Integer> streamed = new ArrayList<>();
        int[] stopped = new Generator(model).generate(new int[]{1, 2}, 6, Set.of(eos), Sampling.greedy(), streamed::add);
        int firstEos = 0;
        while (free[firstEos] != eos) {
            firstEos++;
        }
        assertThat(stopped).containsExactly(Arrays.copyOf(free, firstEos + 1));
        assertThat(streamed).containsExactly(Arrays.stream(stopped).boxed().toArray(Integer[]::new));
    }

    @Test
    void sampledGenerationIsReproducibleForASeed() {
        LlamaConfig config = TestModels.config("LlamaForCausalLM", 37, 48, 75, 2, 6, 2, false, false, null);
        LlamaModel model = new LlamaModel(TestModels.build(config, true, 5), be);
        Generator g = new Generator(model);
        int[] a = g.generate(new int[]{1}, 12, Set.of(), new Sampling(1.5, 0.95, 99), t -> { });
        int[] b = g.generate(new int[]{1}, 12, Set.of(), new Sampling(1.5, 0.95, 99), t -> { });
        assertThat(a).containsExactly(b);
    }

    @Test
    void scorerMatchesTheReferenceNllPerExampleAndOverall() {
        LlamaConfig config = TestModels.config("Qwen2ForCausalLM", 31, 32, 44, 2, 4, 2, false, false, null);
        LlamaWeights w = TestModels.build(config, true, 11);
        LlamaModel model = new LlamaModel(w, be);
        List<int[]> ids = List.of(new int[]{1, 5, 9, 3, 7}, new int[]{2, 8, 6}, new int[]{4, 4, 30, 0, 12, 19});
        List<int[]> labels = List.of(new int[]{-100, -100, 9, 3, 7}, new int[]{2, 8, 6}, new int[]{-100, -100, -100, 0, 12, 19});
        Scorer.Result result = new Scorer(model, 2).score(ids, labels);
        double total = 0;
        long n = 0;
        for (int i = 0; i < ids.size(); i++) {
            double ref = ReferenceLlama.meanNll(ReferenceLlama.logits(w, ids.get(i)), labels.get(i));
            Scorer.ExampleScore s = result.examples().get(i);
            int targets = (int) Arrays.stream(labels.get(i)).skip(1).filter(l -> l != -100).count();
            assertThat(s.targetTokens()).isEqualTo(targets);
            assertThat(s.meanNll()).isCloseTo(ref, org.assertj.core.api.Assertions.within(1e-4));
            assertThat(s.perplexity()).isCloseTo(Math.exp(ref), org.assertj.core.api.Assertions.within(1e-3 * Math.exp(ref)));
            total += ref * targets;
            n += targets;
        }
        assertThat(result.targetTokens()).isEqualTo(n);
        assertThat(result.meanNll()).isCloseTo(total / n, org.assertj.core.api.Assertions.within(1e-4));
    }
}
