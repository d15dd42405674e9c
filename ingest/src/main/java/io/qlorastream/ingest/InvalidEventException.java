package io.qlorastream.ingest;

/** A decoded event that fails {@link Validation}: the processing exception handler sends it to the dead-letter topic. */
public final class InvalidEventException extends RuntimeException {
    public InvalidEventException(String message) {
        super(message);
    }
}
