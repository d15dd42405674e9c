package io.qlorastream.ingest;

import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/** Ingest's Kafka Streams defaults, and that a user's own setting beats each of them. */
class StreamsPropertiesTest {
    private static final String RESTORE_FETCH_WAIT = "restore.consumer.fetch.max.wait.ms";
    private static final String HEARTBEAT = "main.consumer.heartbeat.interval.ms";
    private static final String BATCH = "producer.batch.size";

    @Test
    void defaults() {
        Properties p = IngestTopology.streamsProperties(IngestConfig.defaults(), new Properties());
        assertThat(p.get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG)).isEqualTo(StreamsConfig.EXACTLY_ONCE_V2);
        assertThat(p.get(RESTORE_FETCH_WAIT)).isEqualTo("100");
        assertThat(p.get(HEARTBEAT)).isEqualTo("500");
        assertThat(p.get(BATCH)).isEqualTo("131072");
        int cores = Runtime.getRuntime().availableProcessors();
        assertThat(p.get(StreamsConfig.NUM_STREAM_THREADS_CONFIG))
                .isEqualTo(String.valueOf(Math.min(cores, IngestTopology.MAX_DEFAULT_STREAM_THREADS)));
        // Kafka Streams accepts them as they are
        assertThat(new StreamsConfig(withBootstrap(p)).getInt(StreamsConfig.NUM_STREAM_THREADS_CONFIG)).isBetween(1, 4);
    }

    @Test
    void theUsersOwnSettingsWin() {
        Properties mine = new Properties();
        mine.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
        mine.put(RESTORE_FETCH_WAIT, "250");
        mine.put(HEARTBEAT, "3000");
        mine.put(BATCH, "16384");
        mine.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, "7");
        Properties p = IngestTopology.streamsProperties(IngestConfig.defaults(), mine);
        assertThat(p).containsEntry(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE)
                .containsEntry(RESTORE_FETCH_WAIT, "250").containsEntry(HEARTBEAT, "3000").containsEntry(BATCH, "16384")
                .containsEntry(StreamsConfig.NUM_STREAM_THREADS_CONFIG, "7");
    }

    private static Properties withBootstrap(Properties p) {
        Properties q = new Properties();
        q.putAll(p);
        q.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "localhost:9092");
        return q;
    }
}
