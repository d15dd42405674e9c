package io.qlorastream.trainer;

import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.events.LoraConfig;
import io.qlorastream.events.OffsetRange;
import io.qlorastream.schemas.OneLine;
import io.qlorastream.schemas.serde.AvroSerializer;
import io.qlorastream.store.AdapterStore;
import io.qlorastream.store.StoredArtifact;
import org.apache.commons.io.file.PathUtils;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;

/**
 * A lane's adapter → PEFT files in the adapter store ({@code <adapter>/snapshots/<id>/}) → an {@link AdapterSnapshot}
 * event on adapter-snapshots, in that order, so an event never names files that are not there. The snapshot id is
 * {@code <lineage>-s<step>}: a step redone after a crash rewrites the same id with the same bytes.
 */
public final class SnapshotWriter {
    private final TrainingCore core;
    private final AdapterStore store;
    private final Producer<byte[], byte[]> producer;
    private final AvroSerializer<AdapterSnapshot> serializer;
    private final String snapshotsTopic;
    private final String examplesTopic;
    private final Path scratch;

    public SnapshotWriter(TrainingCore core, AdapterStore store, Producer<byte[], byte[]> producer,
                          Map<String, ?> serdeConfig, String snapshotsTopic, String examplesTopic, Path scratch) {
        this.core = core;
        this.store = store;
        this.producer = producer;
        this.serializer = new AvroSerializer<>();
        this.serializer.configure(serdeConfig, false);
        this.snapshotsTopic = snapshotsTopic;
        this.examplesTopic = examplesTopic;
        this.scratch = scratch;
    }

    public static String snapshotId(String lineageId, long step) {
        return lineageId + "-s" + String.format("%08d", step);
    }

    /** Writes the lane's snapshot and its event (waiting for the broker's acknowledgement); returns the event. */
    public AdapterSnapshot write(AdapterLane lane, String adapterName) throws IOException {
        String id = snapshotId(lane.lineageId, lane.step());
        Path local = scratch.resolve("snapshot-" + id);
        PathUtils.delete(local);
        Files.createDirectories(local);
        StoredArtifact artifact;
        try {
            PeftAdapter.save(lane.lane.adapter, local, core.baseModelName);
            artifact = store.put(adapterName + "/snapshots/" + id, local);
        } finally {
            PathUtils.delete(local);
        }
        io.qlorastream.engine.lora.LoraConfig c = lane.lane.adapter.config;
        AdapterSnapshot event = AdapterSnapshot.newBuilder()
                .setAdapterName(adapterName)
                .setSnapshotId(id)
                .setLineageId(lane.lineageId)
                .setStep(lane.step())
                .setExamplesSeen(lane.examplesSeen)
                .setTokensSeen(lane.tokensSeen)
                .setTrainingLoss(lane.recentLoss())
                .setBaseModelName(core.baseModelName)
                .setBaseModelHash(core.baseModelHash)
                .setLoraConfig(LoraConfig.newBuilder().setR(c.r()).setLoraAlpha(c.alpha()).setLoraDropout(c.dropout())
                        .setUseRslora(c.useRslora()).setTargetModules(List.copyOf(c.targetModules())).build())
                .setArtifactUri(artifact.uri().toString())
                .setArtifactSha256(Map.copyOf(artifact.sha256()))
                .setOffsetRanges(List.of(OffsetRange.newBuilder().setTopic(examplesTopic).setPartition(lane.partition)
                        .setFromOffset(lane.fromOffset).setToOffset(lane.toOffset).build()))
                .setCreatedAt(Instant.ofEpochMilli(System.currentTimeMillis()))
                .build();
        byte[] value = serializer.serialize(snapshotsTopic, event);
        try {
            producer.send(new ProducerRecord<>(snapshotsTopic, adapterName.getBytes(StandardCharsets.UTF_8), value)).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while publishing snapshot " + id, e);
        } catch (ExecutionException e) {
            throw new IOException("cannot publish snapshot " + id + " on " + snapshotsTopic + ": " + OneLine.withCauses(e.getCause()), e.getCause());
        }
        lane.lastSnapshotStep = lane.step();
        lane.snapshots++;
        lane.lossSum = 0;
        lane.lossSteps = 0;
        return event;
    }
}
