package io.qlorastream.ingest;

import io.qlorastream.events.AuthorRole;
import io.qlorastream.events.CodeReview;
import io.qlorastream.events.ReviewComment;
import io.qlorastream.events.ReviewOutcome;
import io.qlorastream.events.ReviewerRole;
import io.qlorastream.events.SourceCoordinates;
import io.qlorastream.events.SupportTicket;
import io.qlorastream.events.TicketChannel;
import io.qlorastream.events.TicketMessage;
import io.qlorastream.events.TicketStatus;

import java.util.ArrayList;
import java.util.List;

/** Small hand-made events for rule tests. */
final class TestEvents {
    static final java.time.Instant T0 = java.time.Instant.ofEpochMilli(1_700_000_000_000L);
    private TestEvents() {
    }

    /** Where the events of rule tests lie: the rules do not look. */
    static final SourceCoordinates NOWHERE = new SourceCoordinates("test", 0, 0L);

    static TicketSource source(SupportTicket t) {
        return new TicketSource(t, NOWHERE, null);
    }

    static ReviewSource source(CodeReview r) {
        return new ReviewSource(r, NOWHERE, null);
    }

    static TicketMessage msg(AuthorRole role, String body) {
        return TicketMessage.newBuilder().setAuthorRole(role).setBody(body).setSentAt(T0).build();
    }

    /** A solved English ticket: customer asks, agent answers. */
    static SupportTicket.Builder ticket() {
        List<TicketMessage> messages = new ArrayList<>(List.of(
                msg(AuthorRole.CUSTOMER, "My invoice for March shows the wrong amount, can you check it?"),
                msg(AuthorRole.AGENT, "I corrected the March invoice; the new amount is on your dashboard now.")));
        return SupportTicket.newBuilder()
                .setTicketId("T-1").setCreatedAt(T0).setProduct("Billing").setChannel(TicketChannel.EMAIL)
                .setLanguage("en").setSubject("Wrong invoice amount").setMessages(messages)
                .setStatus(TicketStatus.SOLVED).setSatisfactionScore(5);
    }

    static ReviewComment comment(String body) {
        return ReviewComment.newBuilder().setBody(body).setLine(12).setCreatedAt(T0).build();
    }

    static CodeReview.Builder review() {
        return CodeReview.newBuilder()
                .setReviewId("R-1").setRepository("acme/payments").setPullRequest("42").setFilePath("src/Pay.java")
                .setProgrammingLanguage("java")
                .setDiffHunk("@@ -1,3 +1,4 @@\n public class Pay {\n+    int total;\n }")
                .setComments(new ArrayList<>(List.of(comment("Make total a long: amounts in cents overflow an int."))))
                .setReviewerRole(ReviewerRole.MAINTAINER).setOutcome(ReviewOutcome.ACCEPTED)
                .setCreatedAt(T0).setReviewer("alice");
    }
}
