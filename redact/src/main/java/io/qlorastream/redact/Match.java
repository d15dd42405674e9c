package io.qlorastream.redact;

/** A candidate span of one type; {@code key} identifies its value for numbering (two spellings of one value share it). */
record Match(int start, int end, RedactionType type, String key) {
    int length() {
        return end - start;
    }
}
