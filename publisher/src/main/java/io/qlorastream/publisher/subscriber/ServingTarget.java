package io.qlorastream.publisher.subscriber;

import io.qlorastream.events.AdapterRelease;

import java.io.IOException;
import java.nio.file.Path;

/**
 * An inference server that serves the installed releases. {@link ServingSwitch} calls it only with a release that
 * the subscriber has verified and installed, retries {@link #switchTo} with backoff while the server refuses or is
 * down, and counts every outcome.
 */
public interface ServingTarget {
    /** The target's name as {@code subscribe --target} spells it (the metrics' {@code target} tag). */
    String name();

    /** Why this server can never serve the release in {@code versionDir} (retrying would not help), or null. */
    default String unsupported(AdapterRelease release, Path versionDir) {
        return null;
    }

    /**
     * Makes the server serve {@code versionDir} in place of {@code replacedVersion} (null: none), so that on any
     * failure the replaced version is still served. Throws when the server refused or could not be reached.
     */
    void switchTo(AdapterRelease release, Path versionDir, Integer replacedVersion) throws IOException, InterruptedException;

    /** {@code dir}: the verified directory is all there is to serve; nothing else to tell. */
    static ServingTarget directoryOnly() {
        return new ServingTarget() {
            @Override
            public String name() {
                return "dir";
            }

            @Override
            public void switchTo(AdapterRelease release, Path versionDir, Integer replacedVersion) {
            }
        };
    }
}
