package io.qlorastream.ingest;

import io.qlorastream.events.CodeReview;
import io.qlorastream.events.ReviewComment;
import io.qlorastream.events.SupportTicket;
import io.qlorastream.events.TicketMessage;

import java.util.Optional;

/**
 * Whether a decoded event is fit to process: required fields present and non-blank, each text within
 * {@link IngestConfig#maxFieldChars}, no more than {@link IngestConfig#maxMessages} messages, and valid UTF-8. The
 * Avro decoder turns invalid UTF-8 into U+FFFD replacement characters, so a text holding U+FFFD (or a lone UTF-16
 * surrogate) is taken as not valid UTF-8. Pure functions; the first problem found is returned, naming the field.
 */
public final class Validation {
    private Validation() {
    }

    public static Optional<String> check(SupportTicket t, IngestConfig c) {
        String p = firstOf(
                required("ticket_id", t.getTicketId(), c),
                required("product", t.getProduct(), c),
                required("language", t.getLanguage(), c),
                required("subject", t.getSubject(), c),
                optional("customer_name", t.getCustomerName(), c),
                optional("customer_email", t.getCustomerEmail(), c),
                optional("customer_account_id", t.getCustomerAccountId(), c),
                optional("agent_name", t.getAgentName(), c),
                optional("resolution", t.getResolution(), c));
        if (p != null) {
            return Optional.of(p);
        }
        if (t.getMessages() == null || t.getMessages().isEmpty()) {
            return Optional.of("messages: empty, a ticket needs at least one message");
        }
        if (t.getMessages().size() > c.maxMessages) {
            return Optional.of("messages: " + t.getMessages().size() + " messages, over the limit of " + c.maxMessages);
        }
        for (int i = 0; i < t.getMessages().size(); i++) {
            TicketMessage m = t.getMessages().get(i);
            String q = m == null ? "messages[" + i + "]: missing" : text("messages[" + i + "].body", m.getBody(), c, false);
            if (q != null) {
                return Optional.of(q);
            }
        }
        if (t.getSatisfactionScore() != null && (t.getSatisfactionScore() < 1 || t.getSatisfactionScore() > 5)) {
            return Optional.of("satisfaction_score: " + t.getSatisfactionScore() + " is outside 1..5");
        }
        return Optional.empty();
    }

    public static Optional<String> check(CodeReview r, IngestConfig c) {
        String p = firstOf(
                required("review_id", r.getReviewId(), c),
                required("repository", r.getRepository(), c),
                required("pull_request", r.getPullRequest(), c),
                required("file_path", r.getFilePath(), c),
                required("programming_language", r.getProgrammingLanguage(), c),
                required("diff_hunk", r.getDiffHunk(), c),
                optional("reviewer", r.getReviewer(), c));
        if (p != null) {
            return Optional.of(p);
        }
        if (r.getComments() == null || r.getComments().isEmpty()) {
            return Optional.of("comments: empty, a review needs at least one comment");
        }
        if (r.getComments().size() > c.maxMessages) {
            return Optional.of("comments: " + r.getComments().size() + " comments, over the limit of " + c.maxMessages);
        }
        for (int i = 0; i < r.getComments().size(); i++) {
            ReviewComment m = r.getComments().get(i);
            String q = m == null ? "comments[" + i + "]: missing" : text("comments[" + i + "].body", m.getBody(), c, false);
            if (q != null) {
                return Optional.of(q);
            }
        }
        return Optional.empty();
    }

    private static String required(String field, String value, IngestConfig c) {
        return text(field, value, c, false);
    }

    private static String optional(String field, String value, IngestConfig c) {
        return value == null ? null : text(field, value, c, true);
    }

    private static String text(String field, String value, IngestConfig c, boolean blankAllowed) {
        if (value == null) {
            return field + ": missing";
        }
        if (value.length() > c.maxFieldChars) {
            return field + ": " + value.length() + " chars, over the limit of " + c.maxFieldChars;
        }
        if (!blankAllowed && value.isBlank()) {
            return field + ": blank";
        }
        int bad = invalidUtf8At(value);
        if (bad >= 0) {
            return field + ": not valid UTF-8 (replacement character or lone surrogate at char " + bad + ")";
        }
        return null;
    }

    /** Index of the first U+FFFD or unpaired surrogate, or -1. */
    static int invalidUtf8At(String s) {
        // indexOf runs vectorized in the JDK, and at once on a Latin-1 string; the loop below then only tests each
        // char for a surrogate, one mask and compare (this check had been a tenth of the ingest stream thread)
        int replacement = s.indexOf('\uFFFD');
        int end = replacement < 0 ? s.length() : replacement;
        for (int i = 0; i < end; i++) {
            char ch = s.charAt(i);
            if ((ch & 0xF800) == 0xD800) {
                if (Character.isHighSurrogate(ch) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i++;
                } else {
                    return i;
                }
            }
        }
        return replacement;
    }

    private static String firstOf(String... problems) {
        for (String p : problems) {
            if (p != null) {
                return p;
            }
        }
        return null;
    }
}
