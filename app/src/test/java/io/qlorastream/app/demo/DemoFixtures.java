package io.qlorastream.app.demo;

import java.util.List;
import java.util.Map;

/** A demo state as a short run leaves it: counters, two adapters' steps, evaluations, releases, the subscriber. */
final class DemoFixtures {
    private DemoFixtures() {
    }

    static DemoState state() {
        DemoState s = new DemoState(Demo.ADAPTERS);
        s.produced(100);
        s.ingest(Map.ofEntries(Map.entry("records_in.support-tickets", 60L), Map.entry("records_in.code-reviews", 40L),
                Map.entry("inputs_with_examples", 30L), Map.entry("filtered.bot", 40L), Map.entry("filtered.duplicate", 25L),
                Map.entry("dead_letters.deserialization", 3L), Map.entry("dead_letters.invalid", 2L), Map.entry("examples.train", 32L),
                Map.entry("examples.eval", 8L), Map.entry("redactions.EMAIL", 7L), Map.entry("redactions.CARD", 2L),
                Map.entry("examples_filtered.too_short", 4L)));
        s.trainerDeadLetters(1);
        for (int i = 1; i <= 20; i++) {
            s.step("support", i, 7.0 - 0.1 * i, 2500);
            if (i <= 10) {
                s.step("code-review", i, 6.9 - 0.05 * i, 2400);
            }
        }
        s.snapshot("support", "lin-s00000020", 20);
        s.evaluation(new DemoState.Evaluation("support", "lin-s00000020", 20, 5.1, 6.99, null, true,
                "passed: held-out NLL 5.1 vs base 6.99 (margin 1.89), general-text rise -0.06, no leak in 4 probe completions"));
        s.evaluation(new DemoState.Evaluation("code-review", "cr-s00000010", 10, 7.2, 6.99, null, false,
                "failed beats_base: held-out NLL 7.2, base 6.99"));
        s.release(new DemoState.Release("support", 1, "lin-s00000020", 1767225600123L, 5.1, 6.99));
        s.subscribed("support", 1);
        s.activity("judging code-review cr-s00000020: candidate held-out NLL 3/6");
        return s;
    }

    static final List<String> ADAPTERS = Demo.ADAPTERS;
}
