package io.qlorastream.schemas.kafka;

import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;

/** The consumer set-up every service shares. */
public final class Consumers {
    private Consumers() {
    }

    /**
     * {@code client} for a consumer that reads committed records only (the services write in transactions), starts
     * from the earliest offset where it has none, and never commits on its own: offsets are committed with the output
     * (in a transaction) or not at all. With a null {@code groupId} any group of {@code client} is removed.
     */
    public static Properties readCommitted(Properties client, String groupId) {
        Properties p = new Properties();
        p.putAll(client);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        if (groupId != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        } else {
            p.remove(ConsumerConfig.GROUP_ID_CONFIG);
        }
        return p;
    }
}
