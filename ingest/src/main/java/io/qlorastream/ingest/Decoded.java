package io.qlorastream.ingest;

/** A source record's value decoded, with the bytes it was decoded from. */
record Decoded<T>(T value, byte[] wire) {
}
