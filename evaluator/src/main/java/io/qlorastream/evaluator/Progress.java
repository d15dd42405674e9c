package io.qlorastream.evaluator;

/** Where a long evaluation stands: a stage ("candidate held-out NLL") and its batches or prompts done of total. */
@FunctionalInterface
public interface Progress {
    Progress NONE = (stage, done, total) -> { };

    void update(String stage, int done, int total);
}
