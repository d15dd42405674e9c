package io.qlorastream.schemas.contract;

/**
 * The default consumer groups (and Kafka Streams application id) of the services, as in the stream contract.
 * Constants, so that command-line option annotations can name them.
 */
public final class ConsumerGroups {
    /** Ingest's Kafka Streams application id. */
    public static final String INGEST = "qlora-ingest";
    public static final String TRAINER = "qlora-trainer";
    public static final String EVALUATOR = "qlora-evaluator";
    public static final String PUBLISHER = "qlora-publisher";

    private ConsumerGroups() {
    }
}
