package io.qlorastream.publisher;

import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.broker.junit.EmbeddedKafkaExtension;
import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.events.ReleaseKind;
import io.qlorastream.schemas.SampleEvents;
import io.qlorastream.schemas.junit.EmbeddedSchemaRegistryExtension;
import io.qlorastream.schemas.registry.server.EmbeddedSchemaRegistry;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The publisher on a real broker and registry, with real PEFT snapshots in a real (local) adapter store. */
@ExtendWith({EmbeddedKafkaExtension.class, EmbeddedSchemaRegistryExtension.class})
class PublisherTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @Test
    void passingEvaluationsBecomeV1V2AndAFailingOneNever(EmbeddedKafkaBroker broker, EmbeddedSchemaRegistry registry, @TempDir Path dir)
            throws Exception {
        try (Fixture f = new Fixture(dir, broker.bootstrapServers(), registry.url())) {
            List<Publisher.Outcome> outcomes = new ArrayList<>();
            try (Publisher p = f.publisher(outcomes)) {
                AdapterSnapshot s1 = f.snapshot("support", 1);
                AdapterSnapshot s2 = f.snapshot("support", 2);
                AdapterSnapshot s3 = f.snapshot("support", 3);
                f.sendEvaluation(f.evaluation(s1, true, null, 2.0, 0));
                assertThat(f.awaitLog(1, WAIT)).hasSize(1);
                f.sendEvaluation(f.evaluation(s2, false, 1, 2.5, 2.0));
                f.sendEvaluation(f.evaluation(s3, true, 1, 1.8, 2.0));
                List<AdapterRelease> log = f.awaitLog(2, WAIT);
                // Same adapter, same partition, in order: when v2 exists the failing evaluation was decided.
                assertThat(log).extracting(AdapterRelease::getVersion).containsExactly(1, 2);
                assertThat(log).extracting(AdapterRelease::getSnapshotId).containsExactly(s1.getSnapshotId(), s3.getSnapshotId());
                assertThat(log).extracting(AdapterRelease::getKind).containsOnly(ReleaseKind.RELEASE);
                synchronized (outcomes) {
                    assertThat(outcomes).hasSize(3);
                    assertThat(outcomes.get(1).decision()).isInstanceOf(ReleasePolicy.Decision.Refused.class);
                }

                AdapterRelease v2 = log.get(1);
                assertThat(v2.getArtifactUri()).endsWith("/support/releases/v2");
                Path v2Dir = Path.of(java.net.URI.create(v2.getArtifactUri()));
                assertThat(Files.list(v2Dir).map(x -> x.getFileName().toString()).sorted().toList())
                        .containsExactly("adapter_config.json", "adapter_model.safetensors", "manifest.json", "release.json");
                for (Map.Entry<String, String> e : v2.getArtifactSha256().entrySet()) {
                    assertThat(ReleaseArtifacts.sha256(v2Dir.resolve(e.getKey()))).as(e.getKey()).isEqualTo(e.getValue());
                }
                // The PEFT files are the snapshot's, byte for byte.
                assertThat(v2.getArtifactSha256().get("adapter_model.safetensors"))
                        .isEqualTo(s3.getArtifactSha256().get("adapter_model.safetensors"));
                // Signed with the key of the key directory; the public key and its id travel with the event.
                SigningKeys keys = SigningKeys.load(f.keyDir);
                assertThat(v2.getPublicKeyId()).isEqualTo(keys.keyId());
                assertThat(ReleaseManifest.verify(v2, keys.publicKey())).isTrue();
                assertThat(Files.readAllBytes(v2Dir.resolve("release.json"))).isEqualTo(ReleaseManifest.releaseFile(v2));
                assertThat(v2.getBaseModelHash()).isEqualTo(f.baseModelHash);
                assertThat(v2.getLoraConfig()).isEqualTo(Fixture.LORA);
                assertThat(v2.getMetrics()).containsEntry("candidate_nll", 1.8);
                // The compacted topic holds the current release.
                assertThat(ReleaseHistory.read(f.client, f.config.releasesTopic(), f.config.releaseLogTopic(), "support").current()
                        .get("support").getVersion()).isEqualTo(2);
            }
            // Generated on first run, the private key readable by its owner only.
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f.keyDir.resolve(SigningKeys.PRIVATE_KEY_FILE))))
                    .isEqualTo("rw-------");
        }
    }

    @Test
    void aDuplicatedOrReplayedEvaluationMakesNoSecondRelease(EmbeddedKafkaBroker broker, EmbeddedSchemaRegistry registry, @TempDir Path dir)
            throws Exception {
        try (Fixture f = new Fixture(dir, broker.bootstrapServers(), registry.url())) {
            AdapterSnapshot s1 = f.snapshot("support", 1);
            AdapterSnapshot s2 = f.snapshot("support", 2);
            AdapterEvaluation e1 = f.evaluation(s1, true, null, 2.0, 0);
            List<Publisher.Outcome> outcomes = new ArrayList<>();
            try (Publisher p = f.publisher(outcomes)) {
                f.sendEvaluation(e1);
                f.sendEvaluation(e1); // the evaluator's retry: the very same event again, right behind it
                f.sendEvaluation(f.evaluation(s2, true, 1, 1.9, 2.0));
                assertThat(f.awaitLog(2, WAIT)).extracting(AdapterRelease::getVersion).containsExactly(1, 2);
                synchronized (outcomes) {
                    assertThat(outcomes.get(1).decision()).isInstanceOf(ReleasePolicy.Decision.Duplicate.class);
                }
            }
            // A new publisher in a new group replays every evaluation from the start: its state, rebuilt from the log,
            // knows them all, so nothing is released again; a fresh snapshot then becomes v3.
            List<Publisher.Outcome> replayed = new ArrayList<>();
            try (Publisher p = f.publisher(f.config.withGroup(f.config.groupId() + "-replay", f.config.transactionalId() + "-replay"), replayed)) {
                AdapterSnapshot s3 = f.snapshot("support", 3);
                f.sendEvaluation(f.evaluation(s3, true, 2, 1.7, 1.9));
                List<AdapterRelease> log = f.awaitLog(3, WAIT);
                assertThat(log).extracting(AdapterRelease::getVersion).containsExactly(1, 2, 3);
                synchronized (replayed) {
                    assertThat(replayed).hasSize(4);
                    assertThat(replayed.subList(0, 3)).extracting(o -> o.decision().getClass().getSimpleName()).containsOnly("Duplicate");
                }
            }
            Thread.sleep(500);
            assertThat(f.awaitLog(3, Duration.ZERO)).hasSize(3);
        }
    }

    @Test
    void rollbackRepublishesThePreviousVersionAndVersionsKeepCounting(EmbeddedKafkaBroker broker, EmbeddedSchemaRegistry registry,
                                                                      @TempDir Path dir) throws Exception {
        SimpleMeterRegistry meters = new SimpleMeterRegistry(); // what --metrics-port would scrape
        Metrics.addRegistry(meters);
        try (Fixture f = new Fixture(dir, broker.bootstrapServers(), registry.url())) {
            try (Publisher p = f.publisher(new ArrayList<>())) {
                f.sendEvaluation(f.evaluation(f.snapshot("support", 1), true, null, 2.0, 0));
                f.awaitLog(1, WAIT);
                f.sendEvaluation(f.evaluation(f.snapshot("support", 2), true, 1, 1.9, 2.0));
                f.awaitLog(2, WAIT);
                SigningKeys keys = SigningKeys.load(f.keyDir);
                AdapterRelease rb = Rollback.rollback(f.client, f.config.releasesTopic(), f.config.releaseLogTopic(), "support", null, keys,
                        Clock.systemUTC());
                assertThat(rb.getKind()).isEqualTo(ReleaseKind.ROLLBACK);
                assertThat(rb.getVersion()).isEqualTo(1);
                assertThat(rb.getRolledBackFromVersion()).isEqualTo(2);
                assertThat(ReleaseManifest.verify(rb, keys.publicKey())).isTrue();
                assertThat(ReleaseHistory.read(f.client, f.config.releasesTopic(), f.config.releaseLogTopic(), null).current().get("support"))
                        .isEqualTo(rb);
                assertThatThrownBy(() -> Rollback.rollback(f.client, f.config.releasesTopic(), f.config.releaseLogTopic(), "support", 1, keys,
                        Clock.systemUTC())).hasMessageContaining("already the current release");
                assertThatThrownBy(() -> Rollback.rollback(f.client, f.config.releasesTopic(), f.config.releaseLogTopic(), "support", 7, keys,
                        Clock.systemUTC())).hasMessageContaining("no v7");
                // The publisher sees the rollback: a snapshot compared against v1 (now current) becomes v3.
                f.sendEvaluation(f.evaluation(f.snapshot("support", 3), true, 1, 1.8, 2.0));
                List<AdapterRelease> log = f.awaitLog(4, WAIT);
                assertThat(log).extracting(r -> r.getKind() + " v" + r.getVersion())
                        .containsExactly("RELEASE v1", "RELEASE v2", "ROLLBACK v1", "RELEASE v3");

                // the metrics follow the log: releases and rollbacks by kind, the current version, this process's decisions
                long deadline = System.nanoTime() + WAIT.toNanos();
                while (meters.get("qlora.publisher.current.version").tag("adapter", "support").gauge().value() != 3
                        && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertThat(meters.get("qlora.publisher.current.version").tag("adapter", "support").gauge().value()).isEqualTo(3);
                assertThat(meters.get("qlora.publisher.releases").tags("adapter", "support", "kind", "release").counter().count()).isEqualTo(3);
                assertThat(meters.get("qlora.publisher.releases").tags("adapter", "support", "kind", "rollback").counter().count()).isEqualTo(1);
                assertThat(meters.get("qlora.publisher.decisions").tags("adapter", "support", "decision", "released").counter().count()).isEqualTo(3);
            }
        } finally {
            Metrics.removeRegistry(meters);
        }
    }

    @Test
    void anUndecodableEvaluationOrOneWithoutBaseModelAndLoraConfigIsSkippedNotFatal(EmbeddedKafkaBroker broker,
                                                                                    EmbeddedSchemaRegistry registry, @TempDir Path dir) throws Exception {
        try (Fixture f = new Fixture(dir, broker.bootstrapServers(), registry.url())) {
            List<Publisher.Outcome> outcomes = new ArrayList<>();
            try (Publisher p = f.publisher(outcomes);
                 org.apache.kafka.clients.producer.KafkaProducer<String, byte[]> raw = new org.apache.kafka.clients.producer.KafkaProducer<>(
                         Map.of("bootstrap.servers", broker.bootstrapServers()),
                         new org.apache.kafka.common.serialization.StringSerializer(),
                         new org.apache.kafka.common.serialization.ByteArraySerializer())) {
                raw.send(new org.apache.kafka.clients.producer.ProducerRecord<>(f.config.evaluationsTopic(), "support",
                        "not avro".getBytes(java.nio.charset.StandardCharsets.UTF_8))).get();
                // a passing verdict written with the first AdapterEvaluation schema: no base model or LoRA config to sign
                AdapterEvaluation old = f.evaluation(f.snapshot("support", 1), true, null, 2.0, 0);
                f.send(f.config.evaluationsTopic(), "support", SampleEvents.asV1(old));
                AdapterSnapshot s2 = f.snapshot("support", 2);
                f.sendEvaluation(f.evaluation(s2, true, null, 2.0, 0));
                assertThat(f.awaitLog(1, WAIT)).extracting(AdapterRelease::getSnapshotId).containsExactly(s2.getSnapshotId());
                // the same kind of verdict on a snapshot already released (a replay) is a duplicate, not a refusal
                f.send(f.config.evaluationsTopic(), "support", SampleEvents.asV1(f.evaluation(s2, true, null, 2.0, 0)));
                long deadline = System.nanoTime() + WAIT.toNanos();
                while (size(outcomes) < 3 && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                synchronized (outcomes) {
                    assertThat(outcomes).hasSize(3);
                    assertThat(outcomes.get(0).line()).isEqualTo("not released support snapshot " + old.getSnapshotId() + " (evaluation "
                            + old.getEvaluationId() + "): evaluation " + old.getEvaluationId()
                            + " carries no base_model_name, base_model_hash, lora_config: a release names the base model and LoRA config the evaluation judged");
                    assertThat(outcomes.get(1).decision()).isInstanceOf(ReleasePolicy.Decision.Release.class);
                    assertThat(outcomes.get(2).decision()).isInstanceOf(ReleasePolicy.Decision.Duplicate.class);
                }
                assertThat(p.failure()).isNull();
            }
            assertThat(f.awaitLog(1, Duration.ZERO)).hasSize(1);
        }
    }

    private static int size(List<?> list) {
        synchronized (list) {
            return list.size();
        }
    }

    @Test
    void topicsAreCreatedWithTheContractsCleanupPolicies(EmbeddedKafkaBroker broker, EmbeddedSchemaRegistry registry, @TempDir Path dir)
            throws Exception {
        try (Fixture f = new Fixture(dir, broker.bootstrapServers(), registry.url());
             Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
            ConfigResource releases = new ConfigResource(ConfigResource.Type.TOPIC, f.config.releasesTopic());
            ConfigResource log = new ConfigResource(ConfigResource.Type.TOPIC, f.config.releaseLogTopic());
            Map<ConfigResource, Config> cfg = admin.describeConfigs(List.of(releases, log)).all().get();
            assertThat(cfg.get(releases).get("cleanup.policy").value()).isEqualTo("compact");
            assertThat(cfg.get(log).get("cleanup.policy").value()).isEqualTo("delete");
            assertThat(cfg.get(log).get("retention.ms").value()).isEqualTo("-1");
            assertThat(cfg.get(log).get("retention.bytes").value()).isEqualTo("-1");
        }
    }
}
