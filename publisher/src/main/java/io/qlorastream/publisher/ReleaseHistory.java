package io.qlorastream.publisher;

import io.qlorastream.events.AdapterRelease;
import io.qlorastream.schemas.kafka.TopicReader;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/** What the {@code releases} command prints: the current release per adapter (the compacted topic) and the history (the log). */
public record ReleaseHistory(Map<String, AdapterRelease> current, List<AdapterRelease> history) {

    /** Reads both topics to their end; {@code adapterOrNull} keeps one adapter. */
    public static ReleaseHistory read(Properties client, String releasesTopic, String releaseLogTopic, String adapterOrNull) {
        Map<String, AdapterRelease> current = new TreeMap<>();
        try (TopicReader<AdapterRelease> t = KafkaClients.wholeTopic(client, releasesTopic)) {
            t.catchUp(r -> {
                if (adapterOrNull == null || adapterOrNull.equals(r.key())) {
                    if (r.value() == null) {
                        current.remove(r.key());
                    } else {
                        current.put(r.key(), r.value());
                    }
                }
            }, Duration.ofSeconds(60));
        }
        List<AdapterRelease> history = new java.util.ArrayList<>();
        try (TopicReader<AdapterRelease> t = KafkaClients.wholeTopic(client, releaseLogTopic)) {
            t.catchUp(r -> {
                if (r.value() != null && (adapterOrNull == null || adapterOrNull.equals(r.value().getAdapterName()))) {
                    history.add(r.value());
                }
            }, Duration.ofSeconds(60));
        }
        return new ReleaseHistory(current, history);
    }
}
