package io.qlorastream.ingest;

import io.qlorastream.events.CodeReview;
import io.qlorastream.events.SupportTicket;

import java.util.Map;

/**
 * Which adapter an example trains: tickets go to {@link IngestConfig#ticketAdapter} unless their product has a
 * route (case-insensitive exact match); reviews to {@link IngestConfig#reviewAdapter} unless a repository route
 * matches (the repository itself or a prefix such as "acme/"; the longest wins).
 */
public final class Router {
    private Router() {
    }

    public static String adapter(SupportTicket t, IngestConfig c) {
        for (Map.Entry<String, String> e : c.productRoutes.entrySet()) {
            if (e.getKey().equalsIgnoreCase(t.getProduct().trim())) {
                return e.getValue();
            }
        }
        return c.ticketAdapter;
    }

    public static String adapter(CodeReview r, IngestConfig c) {
        String repo = r.getRepository().trim();
        String best = null;
        int bestLength = -1;
        for (Map.Entry<String, String> e : c.repositoryRoutes.entrySet()) {
            String k = e.getKey();
            boolean match = repo.equalsIgnoreCase(k) || (k.endsWith("/") && repo.regionMatches(true, 0, k, 0, k.length()));
            if (match && k.length() > bestLength) {
                best = e.getValue();
                bestLength = k.length();
            }
        }
        return best != null ? best : c.reviewAdapter;
    }
}
