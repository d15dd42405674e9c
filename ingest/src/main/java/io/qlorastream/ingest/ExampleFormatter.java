package io.qlorastream.ingest;

import io.qlorastream.events.AuthorRole;
import io.qlorastream.events.CodeReview;
import io.qlorastream.events.ReviewComment;
import io.qlorastream.events.SourceKind;
import io.qlorastream.events.SupportTicket;
import io.qlorastream.events.TicketMessage;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Turns events into prompt/response drafts with the templates of {@link IngestConfig}. Templates name fields in
 * braces ({product}, {subject}, {conversation}; {role}, {body} for one turn; {repository}, {file_path},
 * {language}, {diff_hunk}); plain substitution in one pass, so a field's value holding "{subject}" stays as is.
 * A ticket gives one draft per agent reply that follows a customer message (system messages are left out); its
 * id is {@code ticket/<ticket_id>/<message index>}. A review gives one draft, its comments joined by a blank
 * line; its id is {@code review/<review_id>}.
 */
public final class ExampleFormatter {
    private ExampleFormatter() {
    }

    public static List<ExampleDraft> format(SupportTicket t, IngestConfig c) {
        List<ExampleDraft> drafts = new ArrayList<>();
        StringBuilder conversation = new StringBuilder();
        boolean customerSeen = false;
        List<TicketMessage> messages = t.getMessages();
        for (int i = 0; i < messages.size(); i++) {
            TicketMessage m = messages.get(i);
            if (m.getAuthorRole() == AuthorRole.SYSTEM) {
                continue;
            }
            String body = m.getBody().strip();
            if (m.getAuthorRole() == AuthorRole.AGENT && customerSeen) {
                String prompt = fill(c.ticketPromptTemplate, Map.of(
                        "product", t.getProduct(), "subject", t.getSubject(), "conversation", conversation.toString()));
                drafts.add(new ExampleDraft("ticket/" + t.getTicketId() + "/" + i, SourceKind.SUPPORT_TICKET,
                        t.getTicketId(), prompt, body));
            }
            customerSeen |= m.getAuthorRole() == AuthorRole.CUSTOMER;
            if (conversation.length() > 0) {
                conversation.append("\n\n");
            }
            conversation.append(fill(c.ticketTurnTemplate, Map.of(
                    "role", m.getAuthorRole() == AuthorRole.AGENT ? "Agent" : "Customer", "body", body)));
        }
        return drafts;
    }

    public static ExampleDraft format(CodeReview r, IngestConfig c) {
        String prompt = fill(c.reviewPromptTemplate, Map.of(
                "repository", r.getRepository(), "file_path", r.getFilePath(),
                "language", r.getProgrammingLanguage(), "diff_hunk", r.getDiffHunk()));
        StringBuilder response = new StringBuilder();
        for (ReviewComment comment : r.getComments()) {
            if (response.length() > 0) {
                response.append("\n\n");
            }
            response.append(comment.getBody().strip());
        }
        return new ExampleDraft("review/" + r.getReviewId(), SourceKind.CODE_REVIEW, r.getReviewId(), prompt, response.toString());
    }

    /** One left-to-right pass: {name} with a known name is replaced, anything else is copied. */
    static String fill(String template, Map<String, String> values) {
        StringBuilder out = new StringBuilder(template.length() + 256);
        int i = 0;
        while (i < template.length()) {
            char ch = template.charAt(i);
            if (ch == '{') {
                int close = template.indexOf('}', i + 1);
                if (close > i) {
                    String v = values.get(template.substring(i + 1, close));
                    if (v != null) {
                        out.append(v);
                        i = close + 1;
                        continue;
                    }
                }
            }
            out.append(ch);
            i++;
        }
        return out.toString();
    }
}
