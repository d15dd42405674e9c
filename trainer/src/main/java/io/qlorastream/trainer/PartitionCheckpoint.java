package io.qlorastream.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qlorastream.engine.data.TokenizedExample;
import io.qlorastream.engine.lora.PeftAdapter;
import io.qlorastream.engine.train.StepTrainer;
import org.apache.commons.io.file.PathUtils;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The durable state of one partition of training-examples: every adapter lane fed by it (adapter, AdamW moments,
 * step, dropout counter, lineage, counters, and the examples read but not yet trained) and the partition's next
 * offset to read. Because the untrained examples travel in the checkpoint, the next offset is simply where
 * reading stopped, and a restore continues bit for bit.
 *
 * <p>Layout: {@code DIR/<topic>-<partition>/ckpt-e<epoch>-<sequence>/{partition.json, lanes/<i>/...}}. A checkpoint
 * is written into {@code <name>.tmp}, every file fsynced, then renamed to its final name (atomic) and the parent
 * fsynced; older checkpoints are deleted afterwards. Loading takes the highest complete (epoch, sequence) and ignores
 * (and removes) temp directories a crash left behind.
 *
 * <p>Fencing. The epoch is the consumer group generation in which the writer was assigned the partition. A new owner
 * first raises the partition's {@code fence} file to its epoch ({@link #fence}); a writer whose epoch is below the
 * fence, or below any checkpoint already there, is a zombie (it lost the partition without noticing, e.g. a pause
 * longer than the session timeout) and {@link #save} refuses it with {@link FencedException}, writing and deleting
 * nothing. A zombie that passed the check just before the new owner raised the fence can still complete one
 * checkpoint, but it sorts below every checkpoint of the new owner and deletes only checkpoints below its own, so it
 * never replaces or removes the new owner's state; and since it is a consistent state of its own (offset and lanes
 * together), restoring it would lose and repeat no example either.
 */
public final class PartitionCheckpoint {
    static final String FILE = "partition.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A restored partition: where to read next and its lanes. */
    public record Restored(long nextOffset, List<AdapterLane> lanes, long sequence, int epoch) {
    }

    /** A checkpoint refused because a newer owner (a higher epoch) holds the partition. */
    public static final class FencedException extends IOException {
        public final int epoch;
        public final int fencedBy;

        FencedException(String partition, int epoch, int fencedBy) {
            super("checkpoint of " + partition + " at epoch " + epoch + " refused: a newer owner holds it since epoch " + fencedBy);
            this.epoch = epoch;
            this.fencedBy = fencedBy;
        }
    }

    static final String FENCE = "fence";
    private static final java.util.regex.Pattern NAME = java.util.regex.Pattern.compile("ckpt-(?:e(\\d+)-)?(\\d+)");

    /** A checkpoint directory's place in the order: (epoch, sequence); names without an epoch (format 1) are epoch -1. */
    record Id(int epoch, long sequence) implements Comparable<Id> {
        static Id of(Path p) {
            java.util.regex.Matcher m = NAME.matcher(p.getFileName().toString().replace(".tmp", ""));
            if (!m.matches()) {
                return null;
            }
            return new Id(m.group(1) == null ? -1 : Integer.parseInt(m.group(1)), Long.parseLong(m.group(2)));
        }

        String name() {
            return String.format("ckpt-e%010d-%012d", epoch, sequence);
        }

        @Override
        public int compareTo(Id o) {
            return epoch != o.epoch ? Integer.compare(epoch, o.epoch) : Long.compare(sequence, o.sequence);
        }
    }

    /**
     * Raises the partition's fence to {@code epoch} (a new owner, before it restores): from then on a writer of a
     * lower epoch is refused. Never lowers it.
     */
    public static void fence(Path root, String topic, int partition, int epoch) throws IOException {
        Path dir = partitionDir(root, topic, partition);
        Files.createDirectories(dir);
        if (fenceOf(dir) < epoch) {
            PeftAdapter.writeAtomically(dir.resolve(FENCE), Integer.toString(epoch).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            PeftAdapter.fsyncDirectory(dir);
        }
    }

    static int fenceOf(Path dir) throws IOException {
        Path f = dir.resolve(FENCE);
        if (!Files.isRegularFile(f)) {
            return -1;
        }
        String text = Files.readString(f).trim();
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new IOException(f + ": not an epoch: '" + text + "'");
        }
    }

    private PartitionCheckpoint() {
    }

    public static Path partitionDir(Path root, String topic, int partition) {
        return root.resolve(topic + "-" + partition);
    }

    /**
     * Writes a new checkpoint of the partition for an owner assigned it in {@code epoch}; returns its sequence number.
     * Throws {@link FencedException}, having written nothing, when a newer owner holds the partition.
     */
    public static long save(Path root, String topic, int partition, int epoch, long nextOffset, Collection<AdapterLane> lanes,
                            String baseModelName) throws IOException {
        Path dir = partitionDir(root, topic, partition);
        Files.createDirectories(dir);
        int fencedBy = Math.max(fenceOf(dir), checkpoints(dir).stream().mapToInt(p -> Id.of(p).epoch()).max().orElse(-1));
        if (fencedBy > epoch) {
            throw new FencedException(topic + "-" + partition, epoch, fencedBy);
        }
        long seq = latestSequence(dir) + 1;
        Id id = new Id(epoch, seq);
        String name = id.name();
        Path tmp = dir.resolve(name + ".tmp");
        PathUtils.delete(tmp);
        Files.createDirectories(tmp.resolve("lanes"));
        ObjectNode root1 = JSON.createObjectNode();
        root1.put("format_version", 1);
        root1.put("topic", topic);
        root1.put("partition", partition);
        root1.put("next_offset", nextOffset);
        ArrayNode arr = root1.putArray("lanes");
        int i = 0;
        for (AdapterLane l : lanes) {
            String stateDir = "lanes/" + i++;
            l.lane.state(Map.of(), Map.of("adapter", l.adapter, "lineage_id", l.lineageId)).save(tmp.resolve(stateDir), baseModelName);
            ObjectNode n = arr.addObject();
            n.put("adapter", l.adapter);
            n.put("state_dir", stateDir);
            n.put("lineage_id", l.lineageId);
            n.put("from_offset", l.fromOffset);
            n.put("to_offset", l.toOffset);
            n.put("examples_seen", l.examplesSeen);
            n.put("tokens_seen", l.tokensSeen);
            n.put("loss_sum", l.lossSum);
            n.put("loss_steps", l.lossSteps);
            n.put("last_snapshot_step", l.lastSnapshotStep);
            n.put("snapshots", l.snapshots);
            ArrayNode pend = n.putArray("pending");
            for (AdapterLane.Pending p : l.pending) {
                ObjectNode pn = pend.addObject();
                pn.put("offset", p.offset());
                ArrayNode ids = pn.putArray("input_ids");
                for (int v : p.tokens().inputIds()) ids.add(v);
                ArrayNode labels = pn.putArray("labels");
                for (int v : p.tokens().labels()) labels.add(v);
            }
        }
        PeftAdapter.writeAtomically(tmp.resolve(FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root1));
        PeftAdapter.fsyncDirectory(tmp.resolve("lanes"));
        PeftAdapter.fsyncDirectory(tmp);
        Files.move(tmp, dir.resolve(name), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        PeftAdapter.fsyncDirectory(dir);
        for (Path old : checkpoints(dir)) {
            if (Id.of(old).compareTo(id) < 0) {
                PathUtils.delete(old); // only older states: a newer owner's checkpoint is never this writer's to remove
            }
        }
        return seq;
    }

    /** The newest complete checkpoint of the partition, or null when there is none. */
    public static Restored load(Path root, String topic, int partition, TrainingCore core) throws IOException {
        Path dir = partitionDir(root, topic, partition);
        if (!Files.isDirectory(dir)) {
            return null;
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList()) {
                PathUtils.delete(p); // a checkpoint a crash interrupted: never renamed, never used
            }
        }
        List<Path> all = checkpoints(dir);
        if (all.isEmpty()) {
            return null;
        }
        Path ckpt = all.get(all.size() - 1);
        JsonNode n = JSON.readTree(ckpt.resolve(FILE).toFile());
        if (n.path("format_version").asInt() != 1 || n.path("partition").asInt() != partition) {
            throw new IOException(ckpt.resolve(FILE) + ": not a checkpoint of " + topic + "-" + partition);
        }
        List<AdapterLane> lanes = new ArrayList<>();
        for (JsonNode l : n.path("lanes")) {
            StepTrainer.Lane engineLane = core.restoreLane(ckpt.resolve(l.path("state_dir").asText()));
            AdapterLane a = new AdapterLane(l.path("adapter").asText(), partition, engineLane, l.path("lineage_id").asText());
            a.fromOffset = l.path("from_offset").asLong();
            a.toOffset = l.path("to_offset").asLong();
            a.examplesSeen = l.path("examples_seen").asLong();
            a.tokensSeen = l.path("tokens_seen").asLong();
            a.lossSum = l.path("loss_sum").asDouble();
            a.lossSteps = l.path("loss_steps").asLong();
            a.lastSnapshotStep = l.path("last_snapshot_step").asLong();
            a.snapshots = l.path("snapshots").asLong();
            for (JsonNode p : l.path("pending")) {
                a.pending.add(new AdapterLane.Pending(p.path("offset").asLong(),
                        new TokenizedExample(ints(p.path("input_ids")), ints(p.path("labels")))));
            }
            lanes.add(a);
        }
        Id id = Id.of(ckpt);
        return new Restored(n.path("next_offset").asLong(), lanes, id.sequence(), id.epoch());
    }

    private static int[] ints(JsonNode arr) {
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) out[i] = arr.get(i).asInt();
        return out;
    }

    private static List<Path> checkpoints(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> !p.getFileName().toString().endsWith(".tmp") && Id.of(p) != null && Files.isRegularFile(p.resolve(FILE)))
                    .sorted(Comparator.comparing(Id::of)).toList();
        }
    }

    private static long latestSequence(Path dir) throws IOException {
        long max = 0;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                Id id = Id.of(p);
                if (id != null) {
                    max = Math.max(max, id.sequence());
                }
            }
        }
        return max;
    }
}
