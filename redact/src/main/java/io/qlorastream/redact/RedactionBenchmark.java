package io.qlorastream.redact;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Redaction throughput on one thread: realistic mixed text (ticket prose, stack traces, config snippets, code,
 * with PII and secrets sprinkled in at a few per kilobyte) generated deterministically from a seed, redacted
 * repeatedly after a warm-up. Not a test: {@code bench ingest} calls {@link #run}, and {@link #main} prints it.
 */
public final class RedactionBenchmark {

    /** What one run measured. {@code mbPerSecond} counts UTF-8 megabytes (10^6 bytes) of input per second. */
    public record Result(long bytes, int texts, long redactions, double seconds, double mbPerSecond) {
        @Override
        public String toString() {
            return String.format("redaction: %.1f MB/s on one thread (%d texts, %.1f MB, %d redactions, %.2f s)",
                    mbPerSecond, texts, bytes / 1e6, redactions, seconds);
        }
    }

    private RedactionBenchmark() {
    }

    public static void main(String[] args) {
        long mb = args.length > 0 ? Long.parseLong(args[0]) : 200;
        System.out.println(run(mb * 1_000_000L, 42));
    }

    /** Redacts about {@code totalBytes} of generated text (after as much again of warm-up) and times it. */
    public static Result run(long totalBytes, long seed) {
        return run(corpus(seed, 2_000), totalBytes);
    }

    /** Redacts the given texts over and over, about {@code totalBytes} in all after as much of warm-up, and times it. */
    public static Result run(List<String> corpus, long totalBytes) {
        long corpusBytes = 0;
        for (String t : corpus) {
            corpusBytes += t.getBytes(StandardCharsets.UTF_8).length;
        }
        Redactor redactor = new Redactor();
        List<KnownValue> known = List.of(KnownValue.name("Maria Gonzalez"), KnownValue.email("maria.g@example.org"),
                KnownValue.accountId("ACC-77120"));
        long sink = 0;
        long warmup = Math.max(1, Math.min(totalBytes, 200_000_000L) / corpusBytes);
        for (long r = 0; r < warmup; r++) {
            for (String t : corpus) {
                sink += redactor.redact(t, known).total();
            }
        }
        long rounds = Math.max(1, totalBytes / corpusBytes);
        long redactions = 0;
        long t0 = System.nanoTime();
        for (long r = 0; r < rounds; r++) {
            for (String t : corpus) {
                redactions += redactor.redact(t, known).total();
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        long bytes = rounds * corpusBytes;
        if (sink < 0) {
            throw new AssertionError(); // keeps the warm-up from being optimized away
        }
        return new Result(bytes, (int) (rounds * corpus.size()), redactions, seconds, bytes / 1e6 / seconds);
    }

    /** {@code count} texts of 300 B to 6 KB: mostly ordinary prose, logs and code, a few PII and secrets each. */
    public static List<String> corpus(long seed, int count) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<String> texts = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            StringBuilder b = new StringBuilder();
            int target = 300 + rnd.nextInt(5700);
            while (b.length() < target) {
                b.append(pick(rnd, FRAGMENTS)).append(rnd.nextInt(4) == 0 ? "\n" : " ");
                if (rnd.nextInt(6) == 0) {
                    b.append(pick(rnd, SENSITIVE)).append(". ");
                }
            }
            texts.add(b.toString());
        }
        return texts;
    }

    private static String pick(SplittableRandom rnd, String[] from) {
        return from[rnd.nextInt(from.length)];
    }

    private static final String[] FRAGMENTS = {
            "Hello, thanks for reaching out about the billing issue on your account.",
            "After upgrading to v2.14.1 the dashboard no longer loads and shows a blank page.",
            "I tried clearing the cache and restarting the browser, but nothing changed.",
            "Could you please check what happened with my last invoice? It was charged twice.",
            "The export job fails at 2024-03-05T10:30:45Z with a timeout after 30 seconds.",
            "java.lang.IllegalStateException: connection pool exhausted\n\tat com.acme.db.Pool.borrow(Pool.java:118)",
            "ERROR [worker-3] request 550e8400-e29b-41d4-a716-446655440000 failed in 1234 ms",
            "Our service listens on localhost:8080 and the metrics on 0.0.0.0:9090.",
            "Fixed in commit 9fceb02d0ae598e95dc970b74767f19372d61af8, released as 3.1.0.",
            "for (int i = 0; i < tokens.size(); i++) { total += weights[i] * 0.5; }",
            "if (user == null || user.isDisabled()) { throw new AccessDeniedException(\"disabled\"); }",
            "def parse(line: str) -> dict:\n    return json.loads(line.strip())",
            "Order #4242424242424241 shipped on 15/01/2024 and should arrive within 3-5 business days.",
            "Please make sure the retry limit is set to 5 and the backoff to 250 ms.",
            "Merci pour votre patience, le problème est résolu depuis la version 4.2.",
            "Der Export schlägt weiterhin fehl, obwohl ich alle Schritte befolgt habe.",
            "timeout_ms: 30000\nmax_connections: 64\nlog_level: INFO",
            "SELECT id, status FROM orders WHERE created_at > '2024-01-01' LIMIT 100;",
            "Thanks Maria, the issue is resolved now, closing the ticket.",
            "The build on the main branch is green again after the flaky test was quarantined.",
    };

    private static final String[] SENSITIVE = {
            "You can reach me at maria.g@example.org or +44 20 7946 0958",
            "my card 4111 1111 1111 1111 was charged",
            "IBAN DE89 3704 0044 0532 0130 00",
            "the server 203.0.113.42 refused the connection",
            "client 2001:db8:85a3::8a2e:370:7334 connected",
            "SSN 078-05-1120 on file",
            "DATABASE_URL=postgres://svc:Pa55w0rd@10.1.2.3:5432/app",
            "aws_access_key_id=AKIAIOSFODNN7EXAMPLE",
            "token: ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5",
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "password=hunter2!",
            "account ACC-77120 belongs to Maria Gonzalez",
            "call me on (555) 123-4567",
    };
}
