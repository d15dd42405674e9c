package io.qlorastream.ingest;

import io.qlorastream.schemas.contract.ConsumerGroups;
import io.qlorastream.schemas.contract.Topic;

import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import java.util.stream.Collectors;

/**
 * Every setting of the ingest app, read from {@code qlora.stream.ingest.*} keys (anything else in the properties is
 * left to Kafka). Immutable; {@link #defaults()} is what an empty file gives. A bad value raises an
 * {@link IllegalArgumentException} naming its key.
 */
public final class IngestConfig {
    public static final String PREFIX = "qlora.stream.ingest.";

    public final String applicationId;
    public final String ticketsTopic;
    public final String reviewsTopic;
    public final String trainingTopic;
    public final String evalTopic;
    public final String dlqTopic;
    /** Partitions and replication factor of the output topics the app creates when missing. */
    public final int outputPartitions;
    public final short replicationFactor;

    /** Longest accepted text field (subject, message, hunk, comment), in chars; longer → dead letter. */
    public final int maxFieldChars;
    /** Most messages per ticket / comments per review; more → dead letter. */
    public final int maxMessages;

    public final boolean requireResolved;
    /** Tickets rated below this are filtered; unrated tickets pass. 0 disables the rule. */
    public final int minSatisfaction;
    public final boolean requireAcceptedReview;
    public final boolean dropBots;
    /** Agent names / reviewer logins matching this are automated (bots). */
    public final Pattern botPattern;
    // botPattern's answers by name: a stream meets the same agents and reviewers again and again, and a pattern
    // like the default, .*(...).*, tries its alternatives at every position of every name (4% of the stream thread)
    private final Map<String, Boolean> botNames = new java.util.concurrent.ConcurrentHashMap<>();
    private static final int MAX_REMEMBERED_BOT_NAMES = 10_000;
    /** Responses shorter / longer than this (chars, after trimming) are filtered. */
    public final int minResponseChars;
    public final int maxResponseChars;
    /** Allowed ticket languages (primary BCP 47 subtag, lower case); empty = all. */
    public final Set<String> ticketLanguages;
    /** Allowed programming languages of reviews (lower case); empty = all. */
    public final Set<String> reviewLanguages;

    public final boolean dedupe;
    public final Duration dedupeWindow;

    public final String ticketPromptTemplate;
    public final String ticketTurnTemplate;
    public final String reviewPromptTemplate;

    public final String ticketAdapter;
    public final String reviewAdapter;
    /** product → adapter, for tickets; first match wins. */
    public final Map<String, String> productRoutes;
    /** repository prefix (owner/ or owner/name) → adapter, for reviews; longest prefix wins. */
    public final Map<String, String> repositoryRoutes;

    public final double evalFraction;

    /** Whether dedupe first re-keys events by content hash through a repartition topic, so equal content meets on
     * one partition even when its ids differ (off: dedupe within each input partition only, no extra topic). */
    public final boolean dedupeRepartition;

    /** Serde settings: {@code schema.registry.url} (default http://127.0.0.1:8081) and every other
     * {@code schema.registry.*}, {@code basic.auth.*} and {@code auto.register.schemas} key of the properties. */
    public final Map<String, Object> serdeConfig;

    private IngestConfig(Properties p) {
        applicationId = str(p, "application.id", ConsumerGroups.INGEST);
        ticketsTopic = str(p, "topic.tickets", Topic.SUPPORT_TICKETS.defaultName());
        reviewsTopic = str(p, "topic.reviews", Topic.CODE_REVIEWS.defaultName());
        trainingTopic = str(p, "topic.training", Topic.TRAINING_EXAMPLES.defaultName());
        evalTopic = str(p, "topic.eval", Topic.EVAL_EXAMPLES.defaultName());
        dlqTopic = str(p, "topic.dlq", Topic.INGEST_DLQ.defaultName());
        outputPartitions = integer(p, "output.partitions", 3, 1, 10_000);
        replicationFactor = (short) integer(p, "replication.factor", 1, 1, 32);
        maxFieldChars = integer(p, "max.field.chars", 200_000, 1, Integer.MAX_VALUE);
        maxMessages = integer(p, "max.messages", 200, 1, 100_000);
        requireResolved = bool(p, "filter.require.resolved", true);
        minSatisfaction = integer(p, "filter.min.satisfaction", 3, 0, 5);
        requireAcceptedReview = bool(p, "filter.require.accepted", true);
        dropBots = bool(p, "filter.drop.bots", true);
        botPattern = pattern(p, "filter.bot.pattern", "(?i).*(\\[bot\\]|-bot|_bot|\\bbot|automation|autoresponder|no-?reply).*");
        minResponseChars = integer(p, "filter.min.response.chars", 20, 0, Integer.MAX_VALUE);
        maxResponseChars = integer(p, "filter.max.response.chars", 4000, 1, Integer.MAX_VALUE);
        ticketLanguages = set(p, "filter.ticket.languages", "en");
        reviewLanguages = set(p, "filter.review.languages", "");
        dedupe = bool(p, "dedupe.enabled", true);
        dedupeWindow = Duration.ofMillis(integer(p, "dedupe.window.minutes", 24 * 60, 1, 1_000_000) * 60_000L);
        ticketPromptTemplate = str(p, "template.ticket.prompt",
                "Product: {product}\\nSubject: {subject}\\n\\n{conversation}\\n\\nWrite the support agent's next reply.");
        ticketTurnTemplate = str(p, "template.ticket.turn", "{role}: {body}");
        reviewPromptTemplate = str(p, "template.review.prompt",
                "Repository: {repository}\\nFile: {file_path}\\nLanguage: {language}\\n\\n{diff_hunk}\\n\\nReview this change.");
        ticketAdapter = str(p, "route.ticket.default", "support");
        reviewAdapter = str(p, "route.review.default", "code-review");
        productRoutes = map(p, "route.ticket.products");
        repositoryRoutes = map(p, "route.review.repositories");
        evalFraction = fraction(p, "split.eval.fraction", 0.05);
        dedupeRepartition = bool(p, "dedupe.repartition", true);
        Map<String, Object> serde = new LinkedHashMap<>();
        serde.put("schema.registry.url", "http://127.0.0.1:8081");
        for (String k : p.stringPropertyNames()) {
            if (k.startsWith("schema.registry.") || k.startsWith("basic.auth.") || k.equals("auto.register.schemas")) {
                serde.put(k, p.getProperty(k));
            }
        }
        serdeConfig = Map.copyOf(serde);
    }

    public static IngestConfig defaults() {
        return new IngestConfig(new Properties());
    }

    /** Whether {@code name} (an agent's name, a reviewer's login) matches {@link #botPattern}. */
    public boolean isBotName(String name) {
        Boolean known = botNames.get(name);
        if (known == null) {
            known = botPattern.matcher(name).matches();
            if (botNames.size() >= MAX_REMEMBERED_BOT_NAMES) {
                botNames.clear(); // bounded: a stream of ever-new names starts over rather than growing
            }
            botNames.put(name, known);
        }
        return known;
    }

    int rememberedBotNames() {
        return botNames.size();
    }

    /** Reads the {@code qlora.stream.ingest.*} keys of {@code p}; other keys are ignored. */
    public static IngestConfig from(Properties p) {
        return new IngestConfig(p);
    }

    /** Convenience for tests and callers: defaults with a few keys changed (ingest keys without the prefix;
     * keys holding "schema.registry" or "basic.auth" as they are). */
    public static IngestConfig with(String... keyValues) {
        if (keyValues.length % 2 != 0) {
            throw new IllegalArgumentException("with(): key/value pairs expected");
        }
        Properties p = new Properties();
        for (int i = 0; i < keyValues.length; i += 2) {
            String k = keyValues[i];
            boolean serdeKey = k.startsWith("schema.registry.") || k.startsWith("basic.auth.") || k.equals("auto.register.schemas");
            p.setProperty(serdeKey ? k : PREFIX + k, keyValues[i + 1]);
        }
        return new IngestConfig(p);
    }

    // Templates in a .properties file write newlines as the two characters \n; so do our defaults.
    private static String str(Properties p, String key, String dflt) {
        String v = p.getProperty(PREFIX + key);
        String s = v == null ? dflt : v;
        if (s.isBlank()) {
            throw new IllegalArgumentException(PREFIX + key + ": must not be empty");
        }
        return s.replace("\\n", "\n");
    }

    private static int integer(Properties p, String key, int dflt, int min, int max) {
        String v = p.getProperty(PREFIX + key);
        if (v == null) {
            return dflt;
        }
        try {
            int i = Integer.parseInt(v.trim());
            if (i < min || i > max) {
                throw new IllegalArgumentException(PREFIX + key + ": " + v + " is outside " + min + ".." + max);
            }
            return i;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(PREFIX + key + ": not an integer: " + v);
        }
    }

    private static double fraction(Properties p, String key, double dflt) {
        String v = p.getProperty(PREFIX + key);
        if (v == null) {
            return dflt;
        }
        try {
            double d = Double.parseDouble(v.trim());
            if (!(d >= 0 && d <= 1)) {
                throw new IllegalArgumentException(PREFIX + key + ": " + v + " is not a fraction in 0..1");
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(PREFIX + key + ": not a number: " + v);
        }
    }

    private static boolean bool(Properties p, String key, boolean dflt) {
        String v = p.getProperty(PREFIX + key);
        if (v == null) {
            return dflt;
        }
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException(PREFIX + key + ": not true or false: " + v);
        };
    }

    private static Pattern pattern(Properties p, String key, String dflt) {
        String v = p.getProperty(PREFIX + key, dflt);
        try {
            return Pattern.compile(v);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException(PREFIX + key + ": bad regular expression: " + e.getDescription());
        }
    }

    private static Set<String> set(Properties p, String key, String dflt) {
        String v = p.getProperty(PREFIX + key, dflt);
        return Arrays.stream(v.split(",")).map(s -> s.trim().toLowerCase(Locale.ROOT)).filter(s -> !s.isEmpty())
                .collect(Collectors.toCollection(TreeSet::new));
    }

    /** "a=x, b=y" → ordered map. */
    private static Map<String, String> map(Properties p, String key) {
        Map<String, String> m = new LinkedHashMap<>();
        String v = p.getProperty(PREFIX + key, "");
        for (String entry : List.of(v.split(","))) {
            if (entry.isBlank()) {
                continue;
            }
            int eq = entry.indexOf('=');
            if (eq <= 0 || eq == entry.length() - 1) {
                throw new IllegalArgumentException(PREFIX + key + ": expected match=adapter, got '" + entry.trim() + "'");
            }
            m.put(entry.substring(0, eq).trim(), entry.substring(eq + 1).trim());
        }
        return m;
    }
}
