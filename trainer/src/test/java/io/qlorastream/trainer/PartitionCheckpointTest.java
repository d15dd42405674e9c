package io.qlorastream.trainer;

import io.qlorastream.engine.data.TokenizedExample;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** A checkpoint round-trips a lane exactly; a write a crash interrupted is ignored; the newest complete one wins. */
class PartitionCheckpointTest {

    @Test
    void roundTripsLanesAndIgnoresInterruptedWrites(@TempDir Path dir) throws Exception {
        try (TrainingCore core = TrainerFixtures.core(TrainerFixtures.tinyModel(dir.resolve("tiny")))) {
            AdapterLane lane = new AdapterLane("support", 0, core.freshLane(), "lineage-1");
            for (int i = 0; i < 5; i++) {
                lane.add(10 + i, new TokenizedExample(new int[]{1, 5 + i, 7, 9}, new int[]{-100, -100, 7, 9}));
            }
            lane.train(core.stepTrainer, 4, 2);
            Path root = dir.resolve("ckpt");
            assertThat(PartitionCheckpoint.load(root, "t", 0, core)).isNull();
            PartitionCheckpoint.save(root, "t", 0, 15, List.of(lane), "tiny");
            lane.train(core.stepTrainer, 1, 2); // moves on: the second checkpoint differs
            lane.add(16, new TokenizedExample(new int[]{1, 2, 3}, new int[]{-100, 2, 3})); // read, not trained yet
            long seq = PartitionCheckpoint.save(root, "t", 0, 17, List.of(lane), "tiny");
            // a crash during a third write leaves a temp directory that never became a checkpoint
            Path partial = PartitionCheckpoint.partitionDir(root, "t", 0).resolve(String.format("ckpt-%012d.tmp", seq + 1));
            Files.createDirectories(partial.resolve("lanes"));

            PartitionCheckpoint.Restored r = PartitionCheckpoint.load(root, "t", 0, core);
            assertThat(r.sequence()).isEqualTo(seq);
            assertThat(r.nextOffset()).isEqualTo(17);
            assertThat(partial).doesNotExist();
            AdapterLane back = r.lanes().get(0);
            assertThat(back.adapter).isEqualTo("support");
            assertThat(back.lineageId).isEqualTo("lineage-1");
            assertThat(back.step()).isEqualTo(2);
            assertThat(back.fromOffset).isEqualTo(10);
            assertThat(back.toOffset).isEqualTo(15);
            assertThat(back.examplesSeen).isEqualTo(5);
            assertThat(back.tokensSeen).isEqualTo(lane.tokensSeen);
            assertThat(back.lane.adapter.params).isEqualTo(lane.lane.adapter.params);
            assertThat(back.lane.optimizer.expAvg()).isEqualTo(lane.lane.optimizer.expAvg());
            assertThat(back.lane.dropout.counter()).isEqualTo(lane.lane.dropout.counter());
            assertThat(back.pending).hasSize(1);
            assertThat(back.pending.peek().offset()).isEqualTo(16);
            assertThat(back.pending.peek().tokens().inputIds()).containsExactly(1, 2, 3);
            assertThat(back.pending.peek().tokens().labels()).containsExactly(-100, 2, 3);
            // only the newest checkpoint is kept
            try (var s = Files.list(PartitionCheckpoint.partitionDir(root, "t", 0))) {
                assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly(String.format("ckpt-%012d", seq));
            }
        }
    }
}
