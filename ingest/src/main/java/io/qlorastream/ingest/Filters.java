package io.qlorastream.ingest;

import io.qlorastream.events.AuthorRole;
import io.qlorastream.events.CodeReview;
import io.qlorastream.events.ReviewOutcome;
import io.qlorastream.events.ReviewerRole;
import io.qlorastream.events.SupportTicket;
import io.qlorastream.events.TicketMessage;
import io.qlorastream.events.TicketStatus;

import java.util.Locale;
import java.util.Optional;

/**
 * The event-level filter rules, each switchable in {@link IngestConfig}, applied in a fixed order (the first that
 * matches is the reason counted). Length rules apply per example: {@link #responseLength}. Pure functions.
 */
public final class Filters {
    private Filters() {
    }

    public static Optional<FilterReason> check(SupportTicket t, IngestConfig c) {
        if (c.requireResolved && t.getStatus() != TicketStatus.SOLVED && t.getStatus() != TicketStatus.CLOSED) {
            return Optional.of(FilterReason.NOT_RESOLVED);
        }
        if (c.minSatisfaction > 0 && t.getSatisfactionScore() != null && t.getSatisfactionScore() < c.minSatisfaction) {
            return Optional.of(FilterReason.LOW_SATISFACTION);
        }
        if (c.dropBots && t.getAgentName() != null && c.isBotName(t.getAgentName())) {
            return Optional.of(FilterReason.BOT);
        }
        if (!c.ticketLanguages.isEmpty() && !c.ticketLanguages.contains(primaryLanguage(t.getLanguage()))) {
            return Optional.of(FilterReason.LANGUAGE);
        }
        boolean customerFirst = false;
        for (TicketMessage m : t.getMessages()) {
            if (m.getAuthorRole() == AuthorRole.CUSTOMER) {
                customerFirst = true;
            } else if (m.getAuthorRole() == AuthorRole.AGENT && customerFirst) {
                return Optional.empty();
            }
        }
        return Optional.of(FilterReason.NO_RESPONSE); // no agent reply after a customer message: nothing to learn
    }

    public static Optional<FilterReason> check(CodeReview r, IngestConfig c) {
        if (c.requireAcceptedReview && r.getOutcome() != ReviewOutcome.ACCEPTED) {
            return Optional.of(FilterReason.NOT_ACCEPTED);
        }
        if (c.dropBots && (r.getReviewerRole() == ReviewerRole.BOT || Boolean.TRUE.equals(r.getBot())
                || r.getReviewer() != null && c.isBotName(r.getReviewer()))) {
            return Optional.of(FilterReason.BOT);
        }
        if (!c.reviewLanguages.isEmpty() && !c.reviewLanguages.contains(r.getProgrammingLanguage().trim().toLowerCase(Locale.ROOT))) {
            return Optional.of(FilterReason.LANGUAGE);
        }
        return Optional.empty();
    }

    /** TOO_SHORT / TOO_LONG for one example's response (trimmed), else empty. */
    public static Optional<FilterReason> responseLength(String response, IngestConfig c) {
        int n = response.strip().length();
        if (n < c.minResponseChars) {
            return Optional.of(FilterReason.TOO_SHORT);
        }
        if (n > c.maxResponseChars) {
            return Optional.of(FilterReason.TOO_LONG);
        }
        return Optional.empty();
    }

    /** "fr-CA" → "fr", "EN_us" → "en". */
    static String primaryLanguage(String tag) {
        String s = tag.trim().toLowerCase(Locale.ROOT);
        int cut = 0;
        while (cut < s.length() && Character.isLetter(s.charAt(cut))) {
            cut++;
        }
        return s.substring(0, cut);
    }
}
