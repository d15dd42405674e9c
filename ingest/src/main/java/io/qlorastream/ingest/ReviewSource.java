package io.qlorastream.ingest;

import io.qlorastream.events.CodeReview;
import io.qlorastream.events.ReviewComment;
import io.qlorastream.events.ReviewOutcome;
import io.qlorastream.events.ReviewerRole;
import io.qlorastream.events.SourceCoordinates;
import io.qlorastream.events.SourceKind;
import io.qlorastream.redact.KnownValue;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** A code review from its input topic (see {@link SourceEvent}). */
public record ReviewSource(CodeReview event, SourceCoordinates source, byte[] wire) implements SourceEvent {
    static final byte KIND = 'r';
    /** Its kind byte in the repartition topic's earlier layout. */
    static final byte EARLIER_KIND = 'R';

    @Override
    public byte kind() {
        return KIND;
    }

    @Override
    public Optional<String> problem(IngestConfig c) {
        CodeReview r = event;
        String p = Validation.firstOf(
                Validation.required("review_id", r.getReviewId(), c),
                Validation.required("repository", r.getRepository(), c),
                Validation.required("pull_request", r.getPullRequest(), c),
                Validation.required("file_path", r.getFilePath(), c),
                Validation.required("programming_language", r.getProgrammingLanguage(), c),
                Validation.required("diff_hunk", r.getDiffHunk(), c),
                Validation.optional("reviewer", r.getReviewer(), c));
        if (p == null) {
            p = Validation.turns("comments", "a review needs at least one comment", r.getComments(),
                    ReviewComment::getBody, c);
        }
        return Optional.ofNullable(p);
    }

    /** Not accepted, a bot reviewer (role BOT, the bot flag or the name), then the programming language. */
    @Override
    public Optional<FilterReason> filterReason(IngestConfig c) {
        CodeReview r = event;
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

    /** Repository, file path, diff hunk, then each comment's body. */
    @Override
    public String contentHash() {
        ContentHash h = new ContentHash("review")
                .add(event.getRepository()).add(event.getFilePath()).add(event.getDiffHunk());
        for (ReviewComment comment : event.getComments()) {
            h.add(comment.getBody());
        }
        return h.sha256();
    }

    @Override
    public List<ExampleDraft> drafts(IngestConfig c) {
        return List.of(draft(c));
    }

    /** Its one draft: the comments joined by a blank line, id {@code review/<review_id>}. */
    public ExampleDraft draft(IngestConfig c) {
        CodeReview r = event;
        String prompt = ExampleFormatter.fill(c.reviewPromptTemplate, Map.of(
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

    /** None: a review names no customer. */
    @Override
    public List<KnownValue> knownValues() {
        return List.of();
    }

    /** {@link IngestConfig#reviewAdapter} unless a repository route matches (the longest wins). */
    @Override
    public String adapter(IngestConfig c) {
        return Router.byPrefix(event.getRepository(), c.repositoryRoutes, c.reviewAdapter);
    }
}
