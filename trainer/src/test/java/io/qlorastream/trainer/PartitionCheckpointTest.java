package io.qlorastream.trainer;

import io.qlorastream.engine.data.TokenizedExample;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
            PartitionCheckpoint.save(root, "t", 0, 1, 15, List.of(lane), "tiny");
            lane.train(core.stepTrainer, 1, 2); // moves on: the second checkpoint differs
            lane.add(16, new TokenizedExample(new int[]{1, 2, 3}, new int[]{-100, 2, 3})); // read, not trained yet
            long seq = PartitionCheckpoint.save(root, "t", 0, 1, 17, List.of(lane), "tiny");
            // a crash during a third write leaves a temp directory that never became a checkpoint
            Path partial = PartitionCheckpoint.partitionDir(root, "t", 0).resolve(new PartitionCheckpoint.Id(1, seq + 1).name() + ".tmp");
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
                assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly(new PartitionCheckpoint.Id(1, seq).name());
            }
        }
    }

    @Test
    void aFormerOwnerIsFencedAndTheNewOwnersCheckpointWins(@TempDir Path dir) throws Exception {
        try (TrainingCore core = TrainerFixtures.core(TrainerFixtures.tinyModel(dir.resolve("tiny")))) {
            Path root = dir.resolve("ckpt");
            AdapterLane zombie = new AdapterLane("support", 0, core.freshLane(), "lineage-old");
            AdapterLane owner = new AdapterLane("support", 0, core.freshLane(), "lineage-new");
            PartitionCheckpoint.fence(root, "t", 0, 3);
            PartitionCheckpoint.save(root, "t", 0, 3, 40, List.of(zombie), "tiny"); // the old owner, assigned in generation 3

            // generation 5: a new owner fences and restores; the old owner, paused past its session, wakes up and writes
            PartitionCheckpoint.fence(root, "t", 0, 5);
            PartitionCheckpoint.fence(root, "t", 0, 4); // a fence never goes down
            assertThat(PartitionCheckpoint.load(root, "t", 0, core).nextOffset()).isEqualTo(40);
            assertThatThrownBy(() -> PartitionCheckpoint.save(root, "t", 0, 3, 44, List.of(zombie), "tiny"))
                    .isInstanceOf(PartitionCheckpoint.FencedException.class)
                    .hasMessage("checkpoint of t-0 at epoch 3 refused: a newer owner holds it since epoch 5");
            PartitionCheckpoint.save(root, "t", 0, 5, 48, List.of(owner), "tiny");

            // a zombie write that passed the fence check just before the new owner's fence sorts below the new owner's
            // checkpoints and removes none of them
            Path partitionDir = PartitionCheckpoint.partitionDir(root, "t", 0);
            Files.delete(partitionDir.resolve(PartitionCheckpoint.FENCE));
            assertThatThrownBy(() -> PartitionCheckpoint.save(root, "t", 0, 3, 52, List.of(zombie), "tiny"))
                    .as("a newer owner's checkpoint fences too").isInstanceOf(PartitionCheckpoint.FencedException.class);
            PartitionCheckpoint.Restored r = PartitionCheckpoint.load(root, "t", 0, core);
            assertThat(r.epoch()).isEqualTo(5);
            assertThat(r.nextOffset()).isEqualTo(48);
            assertThat(r.lanes().get(0).lineageId).isEqualTo("lineage-new");
        }
    }

    @Test
    void checkpointsWrittenBeforeEpochsStillRestore(@TempDir Path dir) throws Exception {
        try (TrainingCore core = TrainerFixtures.core(TrainerFixtures.tinyModel(dir.resolve("tiny")))) {
            Path root = dir.resolve("ckpt");
            AdapterLane lane = new AdapterLane("support", 0, core.freshLane(), "lineage-1");
            long seq = PartitionCheckpoint.save(root, "t", 0, 2, 9, List.of(lane), "tiny");
            Path partitionDir = PartitionCheckpoint.partitionDir(root, "t", 0);
            // the name format 1 used: ckpt-<sequence>
            Files.move(partitionDir.resolve(new PartitionCheckpoint.Id(2, seq).name()), partitionDir.resolve(String.format("ckpt-%012d", seq)));
            PartitionCheckpoint.Restored r = PartitionCheckpoint.load(root, "t", 0, core);
            assertThat(r.nextOffset()).isEqualTo(9);
            assertThat(r.epoch()).isEqualTo(-1);
            // the next owner's checkpoint supersedes it and removes it
            PartitionCheckpoint.save(root, "t", 0, 7, 12, r.lanes(), "tiny");
            try (var s = Files.list(partitionDir)) {
                assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly(new PartitionCheckpoint.Id(7, seq + 1).name());
            }
        }
    }
}
