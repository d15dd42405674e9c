package io.qlorastream.schemas;

import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.events.AuthorRole;
import io.qlorastream.events.CodeReview;
import io.qlorastream.events.EvaluationCheck;
import io.qlorastream.events.LoraConfig;
import io.qlorastream.events.OffsetRange;
import io.qlorastream.events.ReleaseKind;
import io.qlorastream.events.ReviewComment;
import io.qlorastream.events.ReviewOutcome;
import io.qlorastream.events.ReviewerRole;
import io.qlorastream.events.SourceCoordinates;
import io.qlorastream.events.SourceKind;
import io.qlorastream.events.Split;
import io.qlorastream.events.SupportTicket;
import io.qlorastream.events.TicketChannel;
import io.qlorastream.events.TicketMessage;
import io.qlorastream.events.TicketStatus;
import io.qlorastream.events.TrainingExample;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.GenericRecordBuilder;
import org.apache.avro.specific.SpecificRecord;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** One filled-in instance of every event type, every field set (optional ones too, to round-trip them). */
public final class SampleEvents {
    private SampleEvents() {
    }

    static final Instant T0 = Instant.parse("2026-11-28T10:15:30.123Z");

    public static SupportTicket ticket(String id) {
        return SupportTicket.newBuilder()
                .setTicketId(id).setCreatedAt(T0).setProduct("billing").setChannel(TicketChannel.CHAT).setLanguage("fr-CA")
                .setSubject("Facture en double — «été»")
                .setMessages(List.of(
                        new TicketMessage(AuthorRole.CUSTOMER, "I was charged twice, mail me at a@b.example", T0.plusSeconds(1)),
                        new TicketMessage(AuthorRole.AGENT, "Refunded the second charge.", T0.plusSeconds(60))))
                .setResolution("refund").setStatus(TicketStatus.SOLVED).setTags(List.of("refund", "vip")).setSatisfactionScore(5)
                .build();
    }

    public static CodeReview review(String id) {
        return CodeReview.newBuilder()
                .setReviewId(id).setRepository("acme/widgets").setPullRequest("421").setFilePath("src/Main.java")
                .setProgrammingLanguage("java").setDiffHunk("@@ -1,3 +1,4 @@\n+import java.util.List;\n")
                .setComments(List.of(new ReviewComment("Unused import.", 1, T0), new ReviewComment("Please add a test.", null, T0.plusSeconds(5))))
                .setReviewerRole(ReviewerRole.MAINTAINER).setOutcome(ReviewOutcome.CHANGES_REQUESTED).setCreatedAt(T0)
                .build();
    }

    public static TrainingExample example(String id) {
        return TrainingExample.newBuilder()
                .setExampleId(id).setAdapterName("support").setSourceKind(SourceKind.SUPPORT_TICKET).setSourceId("T-1")
                .setSource(new SourceCoordinates("support-tickets", 2, 12345L)).setPrompt("Customer: charged twice")
                .setResponse("Refunded.").setRedactions(Map.of("EMAIL", 1, "PHONE", 0)).setSplit(Split.EVAL).setCreatedAt(T0)
                .build();
    }

    static LoraConfig lora() {
        return new LoraConfig(8, 16.0, 0.05, false, List.of("q_proj", "v_proj"));
    }

    public static AdapterSnapshot snapshot(String id) {
        return AdapterSnapshot.newBuilder()
                .setAdapterName("support").setSnapshotId(id).setLineageId("live-1").setStep(120).setExamplesSeen(960)
                .setTokensSeen(123_456).setTrainingLoss(1.25).setBaseModelName("tiny").setBaseModelHash("ab".repeat(32))
                .setLoraConfig(lora()).setArtifactUri("file:///store/support/snapshots/" + id + "/")
                .setArtifactSha256(Map.of("adapter_model.safetensors", "cd".repeat(32)))
                .setOffsetRanges(List.of(new OffsetRange("training-examples", 0, 0L, 960L))).setCreatedAt(T0)
                .build();
    }

    public static AdapterEvaluation evaluation(String id) {
        return AdapterEvaluation.newBuilder()
                .setEvaluationId(id).setAdapterName("support").setSnapshotId("s-1").setLineageId("live-1").setStep(120)
                .setArtifactUri("file:///store/support/snapshots/s-1/").setArtifactSha256(Map.of("adapter_model.safetensors", "cd".repeat(32)))
                .setHeldoutSetHash("ef".repeat(32)).setHeldoutSetSize(64).setCurrentReleaseVersion(3)
                .setMetrics(Map.of("candidate_nll", 1.1, "base_nll", 1.4))
                .setChecks(List.of(new EvaluationCheck("beats_base", 0.3, 0.05, true)))
                .setPassed(true).setReason("beats base by 0.30 nats").setEvaluatedAt(T0)
                .setBaseModelName("tiny").setBaseModelHash("ab".repeat(32)).setLoraConfig(lora())
                .build();
    }

    /** The first registered version of AdapterEvaluation: without the judged snapshot's base model and LoRA config. */
    public static Schema evaluationV1Schema() {
        try (InputStream in = SampleEvents.class.getResourceAsStream("/avro/AdapterEvaluation-v1.avsc")) {
            return new Schema.Parser().parse(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@link #evaluation} as a writer of {@link #evaluationV1Schema} writes it. */
    public static GenericRecord evaluationV1(String id) {
        return asV1(evaluation(id));
    }

    /** An evaluation as a writer of {@link #evaluationV1Schema} writes it: without base model and LoRA config. */
    public static GenericRecord asV1(AdapterEvaluation e) {
        Schema v1 = evaluationV1Schema();
        Schema check = v1.getField("checks").schema().getElementType();
        List<GenericRecord> checks = e.getChecks().stream().map(c -> (GenericRecord) new GenericRecordBuilder(check)
                .set("name", c.getName()).set("value", c.getValue()).set("threshold", c.getThreshold()).set("passed", c.getPassed()).build()).toList();
        GenericRecordBuilder b = new GenericRecordBuilder(v1);
        for (Schema.Field f : v1.getFields()) {
            b.set(f.name(), e.get(f.name()));
        }
        return b.set("checks", checks).set("evaluated_at", e.getEvaluatedAt().toEpochMilli()).build();
    }

    public static AdapterRelease release(String adapter) {
        return AdapterRelease.newBuilder()
                .setAdapterName(adapter).setVersion(4).setKind(ReleaseKind.ROLLBACK).setRolledBackFromVersion(5)
                .setSnapshotId("s-1").setEvaluationId("e-1").setArtifactUri("file:///store/support/releases/v4/")
                .setArtifactSha256(Map.of("adapter_config.json", "01".repeat(32))).setSignature("c2ln").setPublicKeyId("02".repeat(32))
                .setPublicKey("cHVi").setBaseModelName("tiny").setBaseModelHash("ab".repeat(32)).setLoraConfig(lora())
                .setMetrics(Map.of("candidate_nll", 1.1)).setReleasedAt(T0)
                .build();
    }

    /** Every event type once. */
    public static List<SpecificRecord> all() {
        return List.of(ticket("T-1"), review("R-1"), example("E-1"), snapshot("S-1"), evaluation("V-1"), release("support"));
    }
}
