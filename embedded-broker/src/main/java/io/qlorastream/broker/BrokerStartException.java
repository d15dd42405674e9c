package io.qlorastream.broker;

/** The embedded broker could not start; the message names the port or path at fault and fits on one line. */
public class BrokerStartException extends RuntimeException {
    public BrokerStartException(String message, Throwable cause) {
        super(message, cause);
    }

    public BrokerStartException(String message) {
        super(message);
    }
}
