package io.qlorastream.ingest;

import io.qlorastream.events.AuthorRole;
import io.qlorastream.events.SourceCoordinates;
import io.qlorastream.events.SourceKind;
import io.qlorastream.events.SupportTicket;
import io.qlorastream.events.TicketMessage;
import io.qlorastream.events.TicketStatus;
import io.qlorastream.redact.KnownValue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A support ticket from its input topic (see {@link SourceEvent}). */
public record TicketSource(SupportTicket event, SourceCoordinates source, byte[] wire) implements SourceEvent {
    static final byte KIND = 't';
    /** Its kind byte in the repartition topic's earlier layout. */
    static final byte EARLIER_KIND = 'T';

    @Override
    public byte kind() {
        return KIND;
    }

    @Override
    public Optional<String> problem(IngestConfig c) {
        SupportTicket t = event;
        String p = Validation.firstOf(
                Validation.required("ticket_id", t.getTicketId(), c),
                Validation.required("product", t.getProduct(), c),
                Validation.required("language", t.getLanguage(), c),
                Validation.required("subject", t.getSubject(), c),
                Validation.optional("customer_name", t.getCustomerName(), c),
                Validation.optional("customer_email", t.getCustomerEmail(), c),
                Validation.optional("customer_account_id", t.getCustomerAccountId(), c),
                Validation.optional("agent_name", t.getAgentName(), c),
                Validation.optional("resolution", t.getResolution(), c));
        if (p == null) {
            p = Validation.turns("messages", "a ticket needs at least one message", t.getMessages(),
                    TicketMessage::getBody, c);
        }
        Integer score = t.getSatisfactionScore();
        if (p == null && score != null && (score < 1 || score > 5)) {
            p = "satisfaction_score: " + score + " is outside 1..5";
        }
        return Optional.ofNullable(p);
    }

    /** Not resolved, low satisfaction (unrated passes), a bot agent, language, then no agent reply to the customer. */
    @Override
    public Optional<FilterReason> filterReason(IngestConfig c) {
        SupportTicket t = event;
        if (c.requireResolved && t.getStatus() != TicketStatus.SOLVED && t.getStatus() != TicketStatus.CLOSED) {
            return Optional.of(FilterReason.NOT_RESOLVED);
        }
        if (c.minSatisfaction > 0 && t.getSatisfactionScore() != null && t.getSatisfactionScore() < c.minSatisfaction) {
            return Optional.of(FilterReason.LOW_SATISFACTION);
        }
        if (c.dropBots && t.getAgentName() != null && c.isBotName(t.getAgentName())) {
            return Optional.of(FilterReason.BOT);
        }
        if (!c.ticketLanguages.isEmpty() && !c.ticketLanguages.contains(Filters.primaryLanguage(t.getLanguage()))) {
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

    /** Product, subject, then each message's author role and body. */
    @Override
    public String contentHash() {
        ContentHash h = new ContentHash("ticket").add(event.getProduct()).add(event.getSubject());
        for (TicketMessage m : event.getMessages()) {
            h.add(m.getAuthorRole().name()).add(m.getBody());
        }
        return h.sha256();
    }

    /** One draft per agent reply that follows a customer message, id {@code ticket/<ticket_id>/<message index>}. */
    @Override
    public List<ExampleDraft> drafts(IngestConfig c) {
        SupportTicket t = event;
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
                String prompt = ExampleFormatter.fill(c.ticketPromptTemplate, Map.of(
                        "product", t.getProduct(), "subject", t.getSubject(), "conversation", conversation.toString()));
                drafts.add(new ExampleDraft("ticket/" + t.getTicketId() + "/" + i, SourceKind.SUPPORT_TICKET,
                        t.getTicketId(), prompt, body));
            }
            customerSeen |= m.getAuthorRole() == AuthorRole.CUSTOMER;
            if (conversation.length() > 0) {
                conversation.append("\n\n");
            }
            conversation.append(ExampleFormatter.fill(c.ticketTurnTemplate, Map.of(
                    "role", m.getAuthorRole() == AuthorRole.AGENT ? "Agent" : "Customer", "body", body)));
        }
        return drafts;
    }

    /** The customer's name, email and account id, when present. */
    @Override
    public List<KnownValue> knownValues() {
        List<KnownValue> known = new ArrayList<>(3);
        if (event.getCustomerName() != null && !event.getCustomerName().isBlank()) {
            known.add(KnownValue.name(event.getCustomerName()));
        }
        if (event.getCustomerEmail() != null && !event.getCustomerEmail().isBlank()) {
            known.add(KnownValue.email(event.getCustomerEmail()));
        }
        if (event.getCustomerAccountId() != null && !event.getCustomerAccountId().isBlank()) {
            known.add(KnownValue.accountId(event.getCustomerAccountId()));
        }
        return known;
    }

    /** {@link IngestConfig#ticketAdapter} unless its product has a route. */
    @Override
    public String adapter(IngestConfig c) {
        return Router.byName(event.getProduct(), c.productRoutes, c.ticketAdapter);
    }
}
