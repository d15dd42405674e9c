package io.qlorastream.store;

import java.util.ArrayList;
import java.util.List;

/** Artifact directories inside a store: "adapter/snapshots/id", '/'-separated, normalized. */
final class RelativeDirs {
  private RelativeDirs() {}

  /**
   * Normalizes {@code relativeDir}: surrounding and repeated slashes dropped; "." and ".." refused (they would leave
   * the store), as are names starting with '.', which the store keeps for its own staging.
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
      if (segment.startsWith(".") || segment.indexOf('\\') >= 0 || segment.indexOf('\0') >= 0) {
        throw new IllegalArgumentException("bad path segment '" + segment + "' in " + relativeDir
            + " (no '.', '..', leading dots or backslashes)");
      }
      segments.add(segment);
    }
    if (segments.isEmpty() && !allowRoot) {
      throw new IllegalArgumentException("an artifact needs a directory inside the store, not its root");
    }
    return String.join("/", segments);
  }
}
