package io.qlorastream.store;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** Artifact directories inside a store: "adapter/snapshots/id", '/'-separated, normalized. */
final class RelativeDirs {
    /** Characters that need no escaping in a URI path or an S3 key, so an artifact's URI reads as its directory. */
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9._~=+,@-]+");

    private RelativeDirs() {}

    /**
     * Normalizes {@code relativeDir}: surrounding and repeated slashes dropped; "." and ".." refused (they would leave
     * the store), as are names starting with '.', which the store keeps for its own staging, and characters a URI
     * would have to escape.
     *
     * @return "" for the root, which only {@code allowRoot} accepts
     */
    static String normalize(String relativeDir, boolean allowRoot) {
        if (relativeDir == null) {
            throw new IllegalArgumentException("relative directory is null");
        }
        List<String> segments = new ArrayList<>();
        for (String segment : relativeDir.split("/")) {
            if (segment.isEmpty()) {
                continue;
            }
            if (segment.startsWith(".") || !SEGMENT.matcher(segment).matches()) {
                throw new IllegalArgumentException("bad path segment '" + segment + "' in " + relativeDir
                        + " (letters, digits and ._~=+,@- only, not starting with '.')");
            }
            segments.add(segment);
        }
        if (segments.isEmpty() && !allowRoot) {
            throw new IllegalArgumentException("an artifact needs a directory inside the store, not its root");
        }
        return String.join("/", segments);
    }
}
