package io.qlorastream.ingest;

import io.qlorastream.events.AuthorRole;
import io.qlorastream.events.CodeReview;
import io.qlorastream.events.ReviewOutcome;
import io.qlorastream.events.ReviewerRole;
import io.qlorastream.events.SourceKind;
import io.qlorastream.events.Split;
import io.qlorastream.events.SupportTicket;
import io.qlorastream.events.TicketStatus;
import io.qlorastream.redact.RedactionType;
import io.qlorastream.redact.Redactor;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static io.qlorastream.ingest.TestEvents.comment;
import static io.qlorastream.ingest.TestEvents.msg;
import static io.qlorastream.ingest.TestEvents.review;
import static io.qlorastream.ingest.TestEvents.source;
import static io.qlorastream.ingest.TestEvents.ticket;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every pure step of ingest alone: validation, each filter rule, dedupe key, formatting, routing, split, config. */
class RulesTest {
    private static final IngestConfig DEFAULTS = IngestConfig.defaults();

    @Nested
    class ValidationRules {
        @Test
        void aGoodTicketAndReviewPass() {
            assertThat(source(ticket().build()).problem(DEFAULTS)).isEmpty();
            assertThat(source(review().build()).problem(DEFAULTS)).isEmpty();
        }

        @Test
        void blankRequiredFieldsAreNamed() {
            assertThat(source(ticket().setProduct("  ").build()).problem(DEFAULTS)).contains("product: blank");
            assertThat(source(ticket().setMessages(new ArrayList<>()).build()).problem(DEFAULTS)).get().asString().startsWith("messages: empty");
            assertThat(source(review().setDiffHunk("").build()).problem(DEFAULTS)).contains("diff_hunk: blank");
            assertThat(source(review().setComments(new ArrayList<>()).build()).problem(DEFAULTS)).get().asString().startsWith("comments: empty");
        }

        @Test
        void aTenMegabyteBodyIsRejectedByItsSizeNotACrash() {
            String huge = "x".repeat(10 * 1024 * 1024);
            SupportTicket t = ticket().setMessages(new ArrayList<>(List.of(msg(AuthorRole.CUSTOMER, huge)))).build();
            assertThat(source(t).problem(DEFAULTS)).contains("messages[0].body: 10485760 chars, over the limit of 200000");
            assertThat(source(t).problem(IngestConfig.with("max.field.chars", "20000000"))).isEmpty();
        }

        @Test
        void tooManyMessages() {
            List<io.qlorastream.events.TicketMessage> many = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                many.add(msg(AuthorRole.CUSTOMER, "hello " + i));
            }
            assertThat(source(ticket().setMessages(many).build()).problem(IngestConfig.with("max.messages", "4")))
                    .contains("messages: 5 messages, over the limit of 4");
        }

        @Test
        void invalidUtf8ShowsAsReplacementCharacterOrLoneSurrogate() {
            assertThat(source(ticket().setSubject("bad \uFFFD byte").build()).problem(DEFAULTS)).get().asString()
                    .startsWith("subject: not valid UTF-8");
            assertThat(source(review().setComments(new ArrayList<>(List.of(comment("lone \uD800 surrogate")))).build()).problem(DEFAULTS))
                    .get().asString().startsWith("comments[0].body: not valid UTF-8");
            assertThat(source(ticket().setSubject("emoji \uD83D\uDE00 and ünïcödé are fine").build()).problem(DEFAULTS)).isEmpty();
        }

        @Test
        void theFirstProblemCharIsNamed() {
            assertThat(Validation.invalidUtf8At("a\uD800b\uFFFD")).isEqualTo(1);
            assertThat(Validation.invalidUtf8At("ab\uFFFD\uD800")).isEqualTo(2);
            assertThat(Validation.invalidUtf8At("\uDC00\uD83D")).isZero();
            assertThat(Validation.invalidUtf8At("x\uD83D\uDE00\uFFFD")).isEqualTo(3);
            assertThat(Validation.invalidUtf8At("x\uD83D\uFFFD")).isEqualTo(1); // a high surrogate right before U+FFFD
            assertThat(Validation.invalidUtf8At("ok \uD83D")).isEqualTo(3);
            assertThat(Validation.invalidUtf8At("\uD7FF\uE000 caf\u00E9 \uD83D\uDE00")).isEqualTo(-1);
        }

        @Test
        void satisfactionOutOfRange() {
            assertThat(source(ticket().setSatisfactionScore(9).build()).problem(DEFAULTS)).contains("satisfaction_score: 9 is outside 1..5");
        }
    }

    @Nested
    class FilterRules {
        @Test
        void ticketNotResolved() {
            assertThat(source(ticket().setStatus(TicketStatus.OPEN).build()).filterReason(DEFAULTS)).contains(FilterReason.NOT_RESOLVED);
            assertThat(source(ticket().setStatus(TicketStatus.PENDING).build()).filterReason(DEFAULTS)).contains(FilterReason.NOT_RESOLVED);
            assertThat(source(ticket().setStatus(TicketStatus.CLOSED).build()).filterReason(DEFAULTS)).isEmpty();
            assertThat(source(ticket().setStatus(TicketStatus.OPEN).build()).filterReason(IngestConfig.with("filter.require.resolved", "false"))).isEmpty();
        }

        @Test
        void satisfactionBelowThreshold() {
            assertThat(source(ticket().setSatisfactionScore(2).build()).filterReason(DEFAULTS)).contains(FilterReason.LOW_SATISFACTION);
            assertThat(source(ticket().setSatisfactionScore(3).build()).filterReason(DEFAULTS)).isEmpty();
            assertThat(source(ticket().setSatisfactionScore(null).build()).filterReason(DEFAULTS)).isEmpty();
            assertThat(source(ticket().setSatisfactionScore(3).build()).filterReason(IngestConfig.with("filter.min.satisfaction", "4")))
                    .contains(FilterReason.LOW_SATISFACTION);
        }

        @Test
        void reviewNotAccepted() {
            assertThat(source(review().setOutcome(ReviewOutcome.DISMISSED).build()).filterReason(DEFAULTS)).contains(FilterReason.NOT_ACCEPTED);
            assertThat(source(review().setOutcome(ReviewOutcome.CHANGES_REQUESTED).build()).filterReason(DEFAULTS)).contains(FilterReason.NOT_ACCEPTED);
            assertThat(source(review().build()).filterReason(DEFAULTS)).isEmpty();
        }

        @Test
        void bots() {
            assertThat(source(review().setReviewerRole(ReviewerRole.BOT).build()).filterReason(DEFAULTS)).contains(FilterReason.BOT);
            assertThat(source(review().setReviewer("dependabot[bot]").build()).filterReason(DEFAULTS)).contains(FilterReason.BOT);
            assertThat(source(review().setBot(true).build()).filterReason(DEFAULTS)).contains(FilterReason.BOT);
            assertThat(source(review().setReviewer("abbott").build()).filterReason(DEFAULTS)).isEmpty();
            assertThat(source(ticket().setAgentName("Zendesk Autoresponder").build()).filterReason(DEFAULTS)).contains(FilterReason.BOT);
            assertThat(source(ticket().setAgentName("Maria Lopez").build()).filterReason(DEFAULTS)).isEmpty();
            assertThat(source(review().setReviewerRole(ReviewerRole.BOT).build()).filterReason(IngestConfig.with("filter.drop.bots", "false"))).isEmpty();
        }

        @Test
        void botAnswersAreRememberedWithinABound() {
            IngestConfig c = IngestConfig.with();
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < 25_000; i++) {
                    assertThat(c.isBotName("agent-" + i + (i % 3 == 0 ? "-bot" : ""))).isEqualTo(i % 3 == 0);
                    assertThat(c.rememberedBotNames()).isLessThanOrEqualTo(10_000);
                }
            }
        }

        @Test
        void languageAllowList() {
            assertThat(source(ticket().setLanguage("de").build()).filterReason(DEFAULTS)).contains(FilterReason.LANGUAGE);
            assertThat(source(ticket().setLanguage("en-GB").build()).filterReason(DEFAULTS)).isEmpty();
            assertThat(source(ticket().setLanguage("de-AT").build()).filterReason(IngestConfig.with("filter.ticket.languages", "en, de"))).isEmpty();
            assertThat(source(review().setProgrammingLanguage("cobol").build()).filterReason(IngestConfig.with("filter.review.languages", "java,go")))
                    .contains(FilterReason.LANGUAGE);
            assertThat(source(review().setProgrammingLanguage("Java").build()).filterReason(IngestConfig.with("filter.review.languages", "java,go"))).isEmpty();
        }

        @Test
        void aTicketWithoutAnAgentReplyAfterTheCustomerHasNothingToLearn() {
            SupportTicket t = ticket().setMessages(new ArrayList<>(List.of(
                    msg(AuthorRole.AGENT, "Welcome, how can we help?"), msg(AuthorRole.CUSTOMER, "Never mind.")))).build();
            assertThat(source(t).filterReason(DEFAULTS)).contains(FilterReason.NO_RESPONSE);
        }

        @Test
        void responseTooShortOrTooLong() {
            assertThat(Filters.responseLength("ok", DEFAULTS)).contains(FilterReason.TOO_SHORT);
            assertThat(Filters.responseLength("   done, thanks!        ", DEFAULTS)).contains(FilterReason.TOO_SHORT);
            assertThat(Filters.responseLength("y".repeat(4001), DEFAULTS)).contains(FilterReason.TOO_LONG);
            assertThat(Filters.responseLength("The fix is deployed; please retry the export.", DEFAULTS)).isEmpty();
            assertThat(Filters.responseLength("ok", IngestConfig.with("filter.min.response.chars", "2"))).isEmpty();
        }
    }

    @Nested
    class Dedupe {
        @Test
        void sameContentUnderAnotherIdWithOtherSpacingAndCaseIsTheSameKey() {
            SupportTicket a = ticket().build();
            SupportTicket b = ticket().setTicketId("T-99").setCreatedAt(java.time.Instant.EPOCH).setStatus(TicketStatus.CLOSED).setSubject("  WRONG invoice\n amount ").build();
            assertThat(source(a).contentHash()).isEqualTo(source(b).contentHash()).hasSize(64);
        }

        @Test
        void differentContentDiffers() {
            assertThat(source(ticket().build()).contentHash()).isNotEqualTo(source(ticket().setSubject("Other").build()).contentHash());
            assertThat(source(review().build()).contentHash()).isNotEqualTo(source(review().setFilePath("src/Other.java").build()).contentHash());
            assertThat(source(review().build()).contentHash()).isEqualTo(source(review().setReviewId("R-2").setOutcome(ReviewOutcome.DISMISSED).build()).contentHash());
        }

        @Test
        void asciiFastPathWritesTheBytesOfTheGeneralPath() {
            // every ASCII char alone and between letters, then random strings heavy in white space and capitals
            List<String> texts = new ArrayList<>();
            for (char c = 0; c < 0x80; c++) {
                texts.add(String.valueOf(c));
                texts.add("aB" + c + "Cd");
                texts.add(" " + c + " x " + c);
            }
            java.util.Random random = new java.util.Random(7);
            String alphabet = " \t\n\u000B\f\r\u001C\u001F\u007FAZaz09@[`{_-";
            for (int i = 0; i < 2000; i++) {
                StringBuilder b = new StringBuilder();
                for (int n = random.nextInt(40); n > 0; n--) {
                    b.append(random.nextBoolean() ? alphabet.charAt(random.nextInt(alphabet.length())) : (char) random.nextInt(0x80));
                }
                texts.add(b.toString());
            }
            for (String t : texts) {
                byte[] expected = ContentHash.normalize(t).getBytes(java.nio.charset.StandardCharsets.UTF_8);
                byte[] out = new byte[3 + t.length()]; // written from an offset, as into a buffer of earlier fields
                int n = ContentHash.normalizeAscii(t, out, 3);
                assertThat(n).as("%s", t.chars().boxed().toList()).isEqualTo(expected.length);
                assertThat(java.util.Arrays.copyOfRange(out, 3, 3 + n)).as("%s", t.chars().boxed().toList()).isEqualTo(expected);
            }
            // outside ASCII the general path decides: NFKC turns the ligature into "fi", lower-casing 'İ' makes two chars
            for (String t : List.of("caf\u00E9", "\uFB01le", "\u0130stanbul", "non\u00A0breaking")) {
                assertThat(ContentHash.normalizeAscii(t, new byte[t.length()], 0)).as(t).isEqualTo(-1);
            }
            assertThat(ContentHash.normalize("\uFB01le \u00A0 X")).isEqualTo("file x");
        }

        @Test
        void keyIsSha256OfTheLengthPrefixedNormalizedFields() throws Exception {
            // written out from the documented layout, so a change to the key (which would let duplicates through a
            // restart onto stored keys) fails here
            java.security.MessageDigest d = java.security.MessageDigest.getInstance("SHA-256");
            CodeReview r = review().build();
            List<String> fields = new ArrayList<>(List.of("review", r.getRepository(), r.getFilePath(), r.getDiffHunk()));
            r.getComments().forEach(c -> fields.add(c.getBody()));
            for (String f : fields) {
                byte[] b = f.trim().replaceAll("\\s+", " ").toLowerCase(java.util.Locale.ROOT).getBytes(java.nio.charset.StandardCharsets.UTF_8);
                d.update(java.nio.ByteBuffer.allocate(4).putInt(b.length).array());
                d.update(b);
            }
            assertThat(source(r).contentHash()).isEqualTo(java.util.HexFormat.of().formatHex(d.digest()));
        }

        @Test
        void fieldBoundariesCount() {
            assertThat(source(ticket().setProduct("ab").setSubject("c").build()).contentHash())
                    .isNotEqualTo(source(ticket().setProduct("a").setSubject("bc").build()).contentHash());
        }
    }

    @Nested
    class Formatting {
        @Test
        void oneExamplePerAgentReplyWithTheConversationSoFar() {
            SupportTicket t = ticket().setMessages(new ArrayList<>(List.of(
                    msg(AuthorRole.CUSTOMER, "The export button does nothing."),
                    msg(AuthorRole.AGENT, "Which browser do you use?"),
                    msg(AuthorRole.SYSTEM, "Ticket reassigned."),
                    msg(AuthorRole.CUSTOMER, "Firefox 120."),
                    msg(AuthorRole.AGENT, "A fix for Firefox ships tomorrow.")))).build();
            List<ExampleDraft> drafts = source(t).drafts(DEFAULTS);
            assertThat(drafts).extracting(ExampleDraft::exampleId).containsExactly("ticket/T-1/1", "ticket/T-1/4");
            assertThat(drafts.get(0).prompt()).isEqualTo("Product: Billing\nSubject: Wrong invoice amount\n\n"
                    + "Customer: The export button does nothing.\n\nWrite the support agent's next reply.");
            assertThat(drafts.get(0).response()).isEqualTo("Which browser do you use?");
            assertThat(drafts.get(1).prompt()).contains("Customer: The export button does nothing.\n\nAgent: Which browser do you use?\n\nCustomer: Firefox 120.")
                    .doesNotContain("reassigned");
            assertThat(drafts.get(1).response()).isEqualTo("A fix for Firefox ships tomorrow.");
            assertThat(drafts).allSatisfy(d -> {
                assertThat(d.sourceKind()).isEqualTo(SourceKind.SUPPORT_TICKET);
                assertThat(d.sourceId()).isEqualTo("T-1");
            });
        }

        @Test
        void aReviewIsOneExampleWithItsComments() {
            CodeReview r = review().setComments(new ArrayList<>(List.of(comment("First point."), comment(" Second point. ")))).build();
            ExampleDraft d = source(r).draft(DEFAULTS);
            assertThat(d.exampleId()).isEqualTo("review/R-1");
            assertThat(d.prompt()).isEqualTo("Repository: acme/payments\nFile: src/Pay.java\nLanguage: java\n\n"
                    + "@@ -1,3 +1,4 @@\n public class Pay {\n+    int total;\n }\n\nReview this change.");
            assertThat(d.response()).isEqualTo("First point.\n\nSecond point.");
        }

        @Test
        void templatesAreConfigurableAndValuesAreNotReExpanded() {
            IngestConfig c = IngestConfig.with("template.review.prompt", "[{language}] {file_path}: {diff_hunk} {unknown}");
            ExampleDraft d = source(review().setFilePath("{language}.java").build()).draft(c);
            assertThat(d.prompt()).startsWith("[java] {language}.java: @@").endsWith(" {unknown}");
        }
    }

    @Nested
    class Routing {
        @Test
        void defaults() {
            assertThat(source(ticket().build()).adapter(DEFAULTS)).isEqualTo("support");
            assertThat(source(review().build()).adapter(DEFAULTS)).isEqualTo("code-review");
        }

        @Test
        void rulesByProductAndRepository() {
            IngestConfig c = IngestConfig.with("route.ticket.products", "billing=support-billing, Mobile App=support-mobile",
                    "route.review.repositories", "acme/=code-review-acme, acme/payments=code-review-payments");
            assertThat(source(ticket().build()).adapter(c)).isEqualTo("support-billing");
            assertThat(source(ticket().setProduct("mobile app").build()).adapter(c)).isEqualTo("support-mobile");
            assertThat(source(ticket().setProduct("Other").build()).adapter(c)).isEqualTo("support");
            assertThat(source(review().build()).adapter(c)).isEqualTo("code-review-payments");
            assertThat(source(review().setRepository("acme/web").build()).adapter(c)).isEqualTo("code-review-acme");
            assertThat(source(review().setRepository("acmecorp/web").build()).adapter(c)).isEqualTo("code-review");
        }
    }

    @Nested
    class Splitting {
        @Test
        void deterministicAndNearTheFraction() {
            int eval = 0;
            for (int i = 0; i < 20_000; i++) {
                String id = "ticket/T-" + i + "/1";
                Split s = Splitter.split(id, 0.05);
                assertThat(Splitter.split(id, 0.05)).isEqualTo(s);
                eval += s == Split.EVAL ? 1 : 0;
            }
            assertThat(eval).isBetween(900, 1100); // 5% of 20000 = 1000, binomial sd ~31
            assertThat(Splitter.split("x", 0.0)).isEqualTo(Split.TRAIN);
            assertThat(Splitter.split("x", 1.0)).isEqualTo(Split.EVAL);
        }
    }

    @Nested
    class Redaction {
        @Test
        void promptAndResponseShareNumberingAndKnownValuesAreRemoved() {
            SupportTicket t = ticket().setCustomerName("Jane Doe").setCustomerEmail("jane@example.com").setCustomerAccountId("ACC-778812").build();
            ExampleRedaction.Redacted r = new ExampleRedaction(new Redactor()).redact(
                    "Customer: I am Jane Doe, account ACC-778812, write to jane@example.com or bob@corp.io",
                    "Hi Jane, I emailed jane@example.com and bob@corp.io.", source(t).knownValues());
            assertThat(r.prompt()).doesNotContain("Jane", "ACC-778812", "jane@example.com", "bob@corp.io")
                    .contains("<EMAIL_1>", "<EMAIL_2>", "<ACCOUNT_ID_1>", "<NAME_1>");
            assertThat(r.response()).isEqualTo("Hi <NAME_1>, I emailed <EMAIL_1> and <EMAIL_2>.");
            assertThat(r.counts().get(RedactionType.EMAIL)).isEqualTo(4);
        }

        @Test
        void anUnterminatedPemBlockInThePromptStillRedactsBoth() {
            ExampleRedaction.Redacted r = new ExampleRedaction(new Redactor()).redact(
                    "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7", "Mail me at joe@example.org please", List.of());
            assertThat(r.prompt()).doesNotContain("MIIEowIBAAKCAQEA7");
            assertThat(r.response()).doesNotContain("joe@example.org");
        }
    }

    @Test
    void badConfigValuesNameTheirKey() {
        assertThatThrownBy(() -> IngestConfig.with("split.eval.fraction", "1.5")).hasMessage("qlora.stream.ingest.split.eval.fraction: 1.5 is not a fraction in 0..1");
        assertThatThrownBy(() -> IngestConfig.with("filter.min.satisfaction", "x")).hasMessage("qlora.stream.ingest.filter.min.satisfaction: not an integer: x");
        assertThatThrownBy(() -> IngestConfig.with("route.review.repositories", "acme")).hasMessageContaining("expected match=adapter");
        assertThatThrownBy(() -> IngestConfig.with("filter.bot.pattern", "(")).hasMessageContaining("filter.bot.pattern: bad regular expression");
        assertThat(Optional.of(IngestConfig.defaults().dedupeWindow.toHours())).contains(24L);
    }
}
