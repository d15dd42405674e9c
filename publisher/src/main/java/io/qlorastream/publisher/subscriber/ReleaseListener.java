package io.qlorastream.publisher.subscriber;

import io.qlorastream.events.AdapterRelease;

import java.nio.file.Path;

/** Told of every release a subscriber has verified and made current, and of every release it refused. */
public interface ReleaseListener {
    /**
     * The release is verified, in {@code versionDir} ({@code <dir>/<adapter>/v<N>/}, PEFT layout), and
     * {@code <dir>/<adapter>/current} already points at it. {@code replacedVersion} is the version {@code current}
     * pointed at before, or null.
     */
    void installed(AdapterRelease release, Path versionDir, Integer replacedVersion);

    /** The release failed verification (or could not be fetched) and did not become current. */
    default void refused(AdapterRelease release, String reason) {
    }

    /** Calls {@code first}, then {@code second}. */
    static ReleaseListener both(ReleaseListener first, ReleaseListener second) {
        return new ReleaseListener() {
            @Override
            public void installed(AdapterRelease release, Path versionDir, Integer replacedVersion) {
                first.installed(release, versionDir, replacedVersion);
                second.installed(release, versionDir, replacedVersion);
            }

            @Override
            public void refused(AdapterRelease release, String reason) {
                first.refused(release, reason);
                second.refused(release, reason);
            }
        };
    }
}
