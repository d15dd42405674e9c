package io.qlorastream.store;

import java.io.IOException;
import java.net.URI;

/** An artifact's bytes are not the ones expected: a file differs from its hash, is missing, or is not listed. */
public final class ArtifactVerificationException extends IOException {
    private final URI artifact;
    private final String file;

    public ArtifactVerificationException(URI artifact, String file, String problem) {
        super(artifact + "/" + file + ": " + problem);
        this.artifact = artifact;
        this.file = file;
    }

    /** The artifact (directory) URI. */
    public URI artifact() {
        return artifact;
    }

    /** The name of the offending file inside the artifact, e.g. {@code adapter_model.safetensors}. */
    public String file() {
        return file;
    }
}
