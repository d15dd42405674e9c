package io.qlorastream.publisher;

import io.qlorastream.events.AdapterRelease;
import io.qlorastream.events.ReleaseKind;
import io.qlorastream.schemas.kafka.TopicReader;
import io.qlorastream.store.AdapterStore;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.io.IOException;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Properties;

/**
 * Re-publishes an earlier version as the current release (kind ROLLBACK, {@code rolled_back_from_version} the version
 * it replaces), signed with the publisher's key, on {@code adapter-releases} and {@code adapter-release-log} in one
 * transaction. The target's artifact must still exist. Versions keep counting: the next release after a rollback of
 * v3 to v2 is v4.
 */
public final class Rollback {
    private Rollback() {
    }

    /**
     * Rolls {@code adapter} back to {@code toVersion}, or (null) to the newest release older than the current version.
     * Throws IllegalArgumentException when there is nothing to roll back to.
     */
    public static AdapterRelease rollback(Properties client, String releasesTopic, String releaseLogTopic, String adapter,
                                          Integer toVersion, SigningKeys keys, Clock clock) throws IOException {
        ReleaseState state = new ReleaseState();
        try (TopicReader<AdapterRelease> log = KafkaClients.wholeTopic(client, releaseLogTopic)) {
            log.catchUp(r -> Publisher.applyRecord(state, r), Duration.ofSeconds(60));
        }
        ReleaseState.AdapterState a = state.adapter(adapter)
                .orElseThrow(() -> new IllegalArgumentException("adapter " + adapter + " has no releases"));
        AdapterRelease current = a.current().orElseThrow();
        int target;
        if (toVersion == null) {
            target = a.previousVersion().orElseThrow(() -> new IllegalArgumentException(
                    "adapter " + adapter + " has no release older than the current v" + current.getVersion()));
        } else {
            target = toVersion;
        }
        if (target == current.getVersion()) {
            throw new IllegalArgumentException("v" + target + " of " + adapter + " is already the current release");
        }
        AdapterRelease original = a.release(target).orElseThrow(() -> new IllegalArgumentException(
                "adapter " + adapter + " has no v" + target + " (released: " + a.history().stream()
                        .filter(r -> r.getKind() == ReleaseKind.RELEASE).map(r -> "v" + r.getVersion()).toList() + ")"));
        URI uri = URI.create(original.getArtifactUri());
        try (AdapterStore store = AdapterStore.forUri(uri)) {
            if (!store.exists(uri)) {
                throw new IOException("the artifact of " + adapter + " v" + target + " is gone: " + uri);
            }
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException("cannot check " + uri + ": " + e.getMessage(), e);
        }
        AdapterRelease r = AdapterRelease.newBuilder(original)
                .setKind(ReleaseKind.ROLLBACK)
                .setRolledBackFromVersion(current.getVersion())
                .setPublicKeyId(keys.keyId())
                .setPublicKey(keys.publicKeyBase64())
                .setReleasedAt(Instant.ofEpochMilli(clock.millis()))
                .build();
        ReleaseManifest.sign(r, keys.privateKey());
        // One transactional id per adapter: two rollbacks of one adapter at once fence each other.
        try (KafkaProducer<String, AdapterRelease> p = new KafkaProducer<>(KafkaClients.transactionalProducer(client, "qlora-rollback-" + adapter))) {
            p.initTransactions();
            p.beginTransaction();
            p.send(new ProducerRecord<>(releasesTopic, adapter, r));
            p.send(new ProducerRecord<>(releaseLogTopic, adapter, r));
            p.commitTransaction();
        }
        return r;
    }
}
