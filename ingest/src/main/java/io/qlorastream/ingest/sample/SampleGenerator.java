package io.qlorastream.ingest.sample;

import io.qlorastream.events.AuthorRole;
import io.qlorastream.events.CodeReview;
import io.qlorastream.events.ReviewComment;
import io.qlorastream.events.ReviewOutcome;
import io.qlorastream.events.ReviewerRole;
import io.qlorastream.events.SupportTicket;
import io.qlorastream.events.TicketChannel;
import io.qlorastream.events.TicketMessage;
import io.qlorastream.events.TicketStatus;
import org.apache.avro.specific.SpecificRecord;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Realistic synthetic input for ingest: support tickets and code reviews over several products, repositories,
 * natural and programming languages, statuses, ratings and outcomes, with bots, exact duplicates under new ids,
 * personal data and secrets of every type the redactor handles planted in the free text (each planted value is
 * listed in its {@link Sample#planted()}), and a few malformed records (bytes that are not the wire format, a
 * tombstone, events failing validation). Deterministic: the same seed gives the same samples, in the same order.
 */
public final class SampleGenerator {
    /** What a sample is, and where it should end up. */
    public enum Kind { TICKET, REVIEW, MALFORMED_TICKET_BYTES, MALFORMED_REVIEW_BYTES }

    /**
     * One record to produce: an event ({@code event} set) or raw bytes ({@code raw} set; null bytes = tombstone).
     * {@code planted}: personal data and secrets inside it that must never leave ingest.
     */
    public record Sample(Kind kind, String key, SpecificRecord event, byte[] raw, List<String> planted) {
        public boolean isTicketTopic() {
            return kind == Kind.TICKET || kind == Kind.MALFORMED_TICKET_BYTES;
        }
    }

    private static final String[] PRODUCTS = {"Billing", "Mobile App", "Analytics", "Storage", "Identity"};
    private static final String[] FIRST = {"Jane", "Omar", "Li", "Sofia", "Mateo", "Aiko", "Priya", "Lukas", "Amara", "Noah"};
    private static final String[] LAST = {"Doe", "Haddad", "Wei", "Rossi", "Garcia", "Tanaka", "Sharma", "Becker", "Okafor", "Smith"};
    private static final String[] AGENTS = {"Maria Lopez", "Tom Becker", "Grace Kim", "Support Bot", "Zendesk Autoresponder", "Ravi Patel"};
    private static final String[] REPOS = {"acme/payments", "acme/web", "acme/infra", "globex/search", "initech/reports"};
    private static final String[][] FILES = {
            {"src/main/java/com/acme/Invoice.java", "java"}, {"app/views/orders.py", "python"},
            {"cmd/server/main.go", "go"}, {"web/src/cart.ts", "typescript"}, {"src/lib.rs", "rust"},
            {"deploy/config.yaml", "yaml"}};
    private static final String[] REVIEWERS = {"alice", "bkowalski", "chen-dev", "dependabot[bot]", "renovate-bot", "d.ortiz"};

    private final Random random;
    private int serial;

    public SampleGenerator(long seed) {
        this.random = new Random(seed);
    }

    /**
     * {@code tickets} ticket-topic records and {@code reviews} review-topic records, interleaved. About 5% are
     * duplicates of an earlier event under a new id and about 1% malformed (bytes, tombstone or invalid event).
     */
    public List<Sample> generate(int tickets, int reviews) {
        List<Sample> out = new ArrayList<>(tickets + reviews);
        List<Sample> earlierTickets = new ArrayList<>();
        List<Sample> earlierReviews = new ArrayList<>();
        int t = 0;
        int r = 0;
        while (t < tickets || r < reviews) {
            boolean ticket = r >= reviews || (t < tickets && random.nextInt(tickets + reviews) < tickets);
            Sample s;
            int roll = random.nextInt(100);
            if (ticket) {
                if (roll == 0) {
                    s = malformed(true);
                } else if (roll < 6 && !earlierTickets.isEmpty()) {
                    s = duplicate(earlierTickets.get(random.nextInt(earlierTickets.size())));
                } else {
                    s = ticket();
                    earlierTickets.add(s);
                }
                t++;
            } else {
                if (roll == 0) {
                    s = malformed(false);
                } else if (roll < 6 && !earlierReviews.isEmpty()) {
                    s = duplicate(earlierReviews.get(random.nextInt(earlierReviews.size())));
                } else {
                    s = review();
                    earlierReviews.add(s);
                }
                r++;
            }
            out.add(s);
        }
        return out;
    }

    // ------------------------------------------------------------------ tickets

    public Sample ticket() {
        String id = "T-" + (100000 + serial++);
        String first = pick(FIRST);
        String name = first + " " + pick(LAST);
        String email = first.toLowerCase(Locale.ROOT) + "." + (1000 + random.nextInt(9000)) + "@" + pick(new String[]{"example.com", "mail.example.org", "corp.example.net"});
        String account = "ACC-" + (100000 + random.nextInt(900000));
        String product = pick(PRODUCTS);
        List<String> planted = new ArrayList<>(List.of(name, email, account));
        Instant at = Instant.ofEpochMilli(1_767_225_600_000L + serial * 60_000L);

        List<TicketMessage> messages = new ArrayList<>();
        String pii1 = pii(planted);
        messages.add(msg(AuthorRole.CUSTOMER, at, pick(new String[]{
                "Hi, since this morning " + product + " rejects my login. My account is " + account + " and my email " + email + ". " + pii1,
                "Hello, I was charged twice for order 4411-2093 in " + product + ". " + pii1 + " Please refund one of them.",
                "The " + product + " export stops at 99%. Version 4.12.3 on build 8f3a9c1d2e. Contact me at " + email + ". " + pii1})
                + "\nThanks, " + name));
        int turns = 1 + random.nextInt(3);
        for (int k = 0; k < turns; k++) {
            messages.add(msg(AuthorRole.AGENT, at.plusSeconds(600L * (2 * k + 1)), pick(new String[]{
                    "Thanks " + first + ", I checked account " + account + " and reset the session; please sign in again and tell us if it works.",
                    "Sorry about that! I refunded the duplicate charge; it shows on your statement within 3-5 business days.",
                    "Our engineers found the cause: large exports hit a timeout. A fix ships in 4.12.4, and I raised your limit meanwhile.",
                    "ok",
                    "Could you send us the exact error message and the time it happened (UTC)? That lets us find it in our logs."})));
            if (random.nextInt(4) == 0) {
                messages.add(msg(AuthorRole.SYSTEM, at.plusSeconds(600L * (2 * k + 1) + 5), "Ticket status changed."));
            }
            if (k + 1 < turns) {
                messages.add(msg(AuthorRole.CUSTOMER, at.plusSeconds(600L * (2 * k + 2)),
                        pick(new String[]{"It still fails, here is the log line: " + pii(planted), "That worked, thank you " + pick(FIRST) + "!",
                                "I tried again from another network, same problem. Call me on " + phone(planted) + "."})));
            }
        }
        int statusRoll = random.nextInt(10);
        TicketStatus status = statusRoll < 6 ? TicketStatus.SOLVED : statusRoll < 8 ? TicketStatus.CLOSED : statusRoll < 9 ? TicketStatus.OPEN : TicketStatus.PENDING;
        String language = random.nextInt(10) < 8 ? pick(new String[]{"en", "en-US", "en-GB"}) : pick(new String[]{"de", "fr-CA", "es"});
        SupportTicket t = SupportTicket.newBuilder()
                .setTicketId(id).setCreatedAt(at).setProduct(product)
                .setChannel(TicketChannel.values()[random.nextInt(TicketChannel.values().length)])
                .setLanguage(language)
                .setSubject(pick(new String[]{"Cannot sign in", "Charged twice", "Export never finishes", "Question about " + product}))
                .setMessages(messages)
                .setResolution(status == TicketStatus.SOLVED || status == TicketStatus.CLOSED ? "Resolved by the agent" : null)
                .setStatus(status)
                .setTags(List.of(product.toLowerCase(Locale.ROOT).replace(' ', '-')))
                .setSatisfactionScore(random.nextInt(5) == 0 ? null : 1 + random.nextInt(5))
                .setCustomerName(name).setCustomerEmail(email).setCustomerAccountId(account)
                .setAgentName(pick(AGENTS))
                .build();
        return new Sample(Kind.TICKET, id, t, null, planted);
    }

    private static TicketMessage msg(AuthorRole role, Instant at, String body) {
        return TicketMessage.newBuilder().setAuthorRole(role).setSentAt(at).setBody(body).build();
    }

    // ------------------------------------------------------------------ reviews

    public Sample review() {
        String id = "R-" + (200000 + serial++);
        String[] file = FILES[random.nextInt(FILES.length)];
        List<String> planted = new ArrayList<>();
        String secret = secret(planted);
        String hunk = "@@ -10,6 +10,8 @@\n"
                + " public final class Settings {\n"
                + "-    static final int TIMEOUT = 30;\n"
                + "+    static final int TIMEOUT = 60; // see 3f2c9e1b7a4d5e6f8a9b0c1d2e3f4a5b6c7d8e9f\n"
                + "+    " + secret + "\n"
                + "     // request id 123e4567-e89b-12d3-a456-426614174000, port 8080, v2.14.1\n";
        List<ReviewComment> comments = new ArrayList<>();
        int n = 1 + random.nextInt(2);
        for (int k = 0; k < n; k++) {
            comments.add(ReviewComment.newBuilder().setLine(10 + k).setCreatedAt(Instant.ofEpochMilli(1_767_225_600_000L + serial * 60_000L))
                    .setBody(pick(new String[]{
                            "Please don't commit credentials: move this value to the secret store and rotate it.",
                            "Doubling the timeout hides the slow query; add an index on orders(created_at) instead.",
                            "nit",
                            "This leaks the key in logs. Also the on-call contact " + pii(planted) + " should not live in code.",
                            "LGTM once the constant is read from configuration; a unit test for the 60s path would help."}))
                    .build());
        }
        String reviewer = pick(REVIEWERS);
        int outcomeRoll = random.nextInt(10);
        CodeReview r = CodeReview.newBuilder()
                .setReviewId(id).setRepository(pick(REPOS)).setPullRequest(String.valueOf(1 + random.nextInt(900)))
                .setFilePath(file[0]).setProgrammingLanguage(file[1]).setDiffHunk(hunk).setComments(comments)
                .setReviewerRole(reviewer.contains("bot") ? ReviewerRole.BOT : pick(new ReviewerRole[]{ReviewerRole.MAINTAINER, ReviewerRole.COLLABORATOR, ReviewerRole.CONTRIBUTOR}))
                .setOutcome(outcomeRoll < 7 ? ReviewOutcome.ACCEPTED : outcomeRoll < 9 ? ReviewOutcome.CHANGES_REQUESTED : ReviewOutcome.DISMISSED)
                .setCreatedAt(Instant.ofEpochMilli(1_767_225_600_000L + serial * 60_000L))
                .setReviewer(reviewer)
                .build();
        return new Sample(Kind.REVIEW, id, r, null, planted);
    }

    // ------------------------------------------------------------------ duplicates and malformed records

    private Sample duplicate(Sample of) {
        String id = (of.kind() == Kind.TICKET ? "T-" : "R-") + (900000 + serial++);
        SpecificRecord copy = of.event() instanceof SupportTicket t
                ? SupportTicket.newBuilder(t).setTicketId(id).build()
                : CodeReview.newBuilder((CodeReview) of.event()).setReviewId(id).build();
        return new Sample(of.kind(), id, copy, null, of.planted());
    }

    private Sample malformed(boolean ticketTopic) {
        String id = (ticketTopic ? "T-BAD-" : "R-BAD-") + serial++;
        return switch (random.nextInt(4)) {
            // not the Confluent wire format at all
            case 0 -> new Sample(ticketTopic ? Kind.MALFORMED_TICKET_BYTES : Kind.MALFORMED_REVIEW_BYTES, id,
                    null, "{\"subject\": \"json, not avro\"}".getBytes(StandardCharsets.UTF_8), List.of());
            // a tombstone
            case 1 -> new Sample(ticketTopic ? Kind.MALFORMED_TICKET_BYTES : Kind.MALFORMED_REVIEW_BYTES, id, null, null, List.of());
            // wire format naming a schema id the registry never issued
            case 2 -> new Sample(ticketTopic ? Kind.MALFORMED_TICKET_BYTES : Kind.MALFORMED_REVIEW_BYTES, id,
                    null, new byte[]{0, 0x7f, 0x11, 0x22, 0x33, 2, 4, 6}, List.of());
            // a well-formed event that fails validation: no messages / no comments
            default -> {
                Sample good = ticketTopic ? ticket() : review();
                SpecificRecord bad = good.event() instanceof SupportTicket t
                        ? SupportTicket.newBuilder(t).setTicketId(id).setMessages(new ArrayList<>()).setSubject(" ").build()
                        : CodeReview.newBuilder((CodeReview) good.event()).setReviewId(id).setComments(new ArrayList<>()).build();
                yield new Sample(ticketTopic ? Kind.TICKET : Kind.REVIEW, id, bad, null, List.of());
            }
        };
    }

    // ------------------------------------------------------------------ personal data and secrets

    /** One piece of personal data in a sentence; the value goes into {@code planted}. */
    private String pii(List<String> planted) {
        return switch (random.nextInt(9)) {
            case 0 -> "My card is " + plant(planted, card()) + ", expiry 09/27.";
            case 1 -> "Please wire it to IBAN " + plant(planted, iban()) + ".";
            case 2 -> "The request came from " + plant(planted, "203.0." + (100 + random.nextInt(28)) + "." + (1 + random.nextInt(254))) + " at 10:42.";
            case 3 -> "Our gateway is " + plant(planted, "2001:db8:" + Integer.toHexString(0x1000 + random.nextInt(0xe000)) + "::8a2e:370:7334") + ".";
            case 4 -> "My SSN is " + plant(planted, (100 + random.nextInt(500)) + "-" + (10 + random.nextInt(89)) + "-" + (1000 + random.nextInt(8999))) + " for the tax form.";
            case 5 -> "Reach me at " + phone(planted) + " after 5pm.";
            case 6 -> "Or write to " + plant(planted, pick(FIRST).toLowerCase(Locale.ROOT) + "." + random.nextInt(1000) + "@example.org") + ".";
            case 7 -> "The log shows " + secret(planted);
            default -> "Nothing else to add, order 77-1200 shipped on 2026-01-05.";
        };
    }

    private String phone(List<String> planted) {
        String[] formats = {
                "+44 20 7946 " + digits(4), "+1-415-555-" + digits(4), "(415) 555-" + digits(4),
                "020 7946 " + digits(4), "06 12 34 " + digits(2) + " " + digits(2), "+49 30 " + digits(7)};
        return plant(planted, formats[random.nextInt(formats.length)]);
    }

    /** A secret as it appears in code or logs; the secret part goes into {@code planted}. */
    private String secret(List<String> planted) {
        return switch (random.nextInt(13)) {
            case 0 -> "String awsKey = \"" + plant(planted, "AKIA" + upperAlnum(16)) + "\";";
            case 1 -> "token = " + plant(planted, "ghp_" + alnum(36));
            case 2 -> "GITHUB_TOKEN=" + plant(planted, "github_pat_" + alnum(22) + "_" + alnum(59));
            case 3 -> "slack: " + plant(planted, "xoxb-" + digits(11) + "-" + digits(12) + "-" + alnum(24));
            case 4 -> "webhook " + plant(planted, "https://hooks.slack.com/services/T" + upperAlnum(8) + "/B" + upperAlnum(8) + "/" + alnum(24));
            case 5 -> "stripe.api_key = \"" + plant(planted, "sk_live_" + alnum(24)) + "\"";
            case 6 -> "mapsKey: " + plant(planted, "AIza" + alnum(35));
            case 7 -> "Authorization: Bearer " + plant(planted, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0." + alnum(43));
            case 8 -> "key:\n" + plant(planted, "-----BEGIN RSA PRIVATE KEY-----\nMIIEow" + alnum(60) + "\n" + alnum(64) + "\n-----END RSA PRIVATE KEY-----");
            case 9 -> "db_password=" + plant(planted, "Tr0ub4dor&" + alnum(8));
            case 10 -> "curl -H 'Authorization: Bearer " + plant(planted, alnum(20) + "." + alnum(12)) + "' https://api.example.com";
            case 11 -> "DATABASE_URL=" + plant(planted, "postgres://app:" + alnum(14) + "@db.internal:5432/orders");
            default -> "gho: " + plant(planted, "gho_" + alnum(36));
        };
    }

    private static String plant(List<String> planted, String value) {
        planted.add(value);
        return value;
    }

    /** A 16-digit Visa-like number with a valid Luhn check digit. */
    private String card() {
        int[] d = new int[16];
        d[0] = 4;
        for (int i = 1; i < 15; i++) {
            d[i] = random.nextInt(10);
        }
        int sum = 0;
        for (int i = 0; i < 15; i++) {
            int v = d[14 - i];
            if (i % 2 == 0) {
                v *= 2;
                if (v > 9) {
                    v -= 9;
                }
            }
            sum += v;
        }
        d[15] = (10 - sum % 10) % 10;
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            if (i > 0 && i % 4 == 0) {
                b.append(random.nextBoolean() ? ' ' : '-');
            }
            b.append(d[i]);
        }
        return b.toString().replace('-', ' ');
    }

    /** A German IBAN with valid mod-97 check digits, grouped by four. */
    private String iban() {
        String bban = digits(18);
        String rearranged = bban + "1314" + "00"; // D=13 E=14, check digits 00
        int mod = 0;
        for (int i = 0; i < rearranged.length(); i++) {
            mod = (mod * 10 + (rearranged.charAt(i) - '0')) % 97;
        }
        String check = String.format("%02d", 98 - mod);
        String compact = "DE" + check + bban;
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < compact.length(); i++) {
            if (i > 0 && i % 4 == 0) {
                b.append(' ');
            }
            b.append(compact.charAt(i));
        }
        return b.toString();
    }

    private String digits(int n) {
        StringBuilder b = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            b.append((char) ('0' + random.nextInt(10)));
        }
        return b.toString();
    }

    private String alnum(int n) {
        String chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder b = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            b.append(chars.charAt(random.nextInt(chars.length())));
        }
        return b.toString();
    }

    private String upperAlnum(int n) {
        String chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        StringBuilder b = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            b.append(chars.charAt(random.nextInt(chars.length())));
        }
        return b.toString();
    }

    private <T> T pick(T[] options) {
        return options[random.nextInt(options.length)];
    }
}
