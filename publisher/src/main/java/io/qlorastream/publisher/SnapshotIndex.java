package io.qlorastream.publisher;

import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.schemas.kafka.TopicReader;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * The trainer's snapshot events by snapshot id, read from {@code adapter-snapshots}: a release names the base model
 * (and its hash) and the LoRA config the trainer declared for the snapshot, which the evaluation event does not carry.
 */
public final class SnapshotIndex implements AutoCloseable {
    private final TopicReader<AdapterSnapshot> tail;
    private final Map<String, AdapterSnapshot> byId = new HashMap<>();
    private final Duration timeout;

    public SnapshotIndex(Properties client, String topic, Duration timeout) {
        this.tail = KafkaClients.wholeTopic(client, topic);
        this.timeout = timeout;
    }

    /** The snapshot's event; reads the topic further when it is not known yet. */
    public Optional<AdapterSnapshot> find(String adapterName, String snapshotId) {
        AdapterSnapshot s = byId.get(key(adapterName, snapshotId));
        if (s == null) {
            tail.catchUp(r -> {
                if (r.value() != null) {
                    byId.put(key(r.value().getAdapterName(), r.value().getSnapshotId()), r.value());
                }
            }, timeout);
            s = byId.get(key(adapterName, snapshotId));
        }
        return Optional.ofNullable(s);
    }

    private static String key(String adapter, String snapshot) {
        return adapter + '\u0000' + snapshot;
    }

    @Override
    public void close() {
        tail.close();
    }
}
