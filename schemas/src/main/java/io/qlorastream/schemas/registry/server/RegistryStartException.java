package io.qlorastream.schemas.registry.server;

/** The embedded registry could not start; the message says why in one line. */
public final class RegistryStartException extends RuntimeException {
    public RegistryStartException(String message, Throwable cause) {
        super(message, cause);
    }
}
