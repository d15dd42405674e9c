package io.qlorastream.ingest;

import java.util.Map;

/**
 * Which adapter an example trains ({@link SourceEvent#adapter}): tickets go to {@link IngestConfig#ticketAdapter}
 * unless their product has a route (case-insensitive exact match, {@link #byName}); reviews to
 * {@link IngestConfig#reviewAdapter} unless a repository route matches (the repository itself or a prefix such as
 * "acme/"; the longest wins, {@link #byPrefix}).
 */
public final class Router {
    private Router() {
    }

    /** The route whose key is {@code name} (trimmed, any case), else {@code fallback}. */
    static String byName(String name, Map<String, String> routes, String fallback) {
        for (Map.Entry<String, String> e : routes.entrySet()) {
            if (e.getKey().equalsIgnoreCase(name.trim())) {
                return e.getValue();
            }
        }
        return fallback;
    }

    /** The route of the longest key that is {@code name} (trimmed, any case) or a prefix of it ending in "/". */
    static String byPrefix(String name, Map<String, String> routes, String fallback) {
        String repo = name.trim();
        String best = null;
        int bestLength = -1;
        for (Map.Entry<String, String> e : routes.entrySet()) {
            String k = e.getKey();
            boolean match = repo.equalsIgnoreCase(k) || (k.endsWith("/") && repo.regionMatches(true, 0, k, 0, k.length()));
            if (match && k.length() > bestLength) {
                best = e.getValue();
                bestLength = k.length();
            }
        }
        return best != null ? best : fallback;
    }
}
