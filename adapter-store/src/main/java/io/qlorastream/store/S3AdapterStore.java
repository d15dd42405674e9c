package io.qlorastream.store;

import java.net.URI;

/** Placeholder until the S3 store lands (phase 2). */
final class S3AdapterStore {
  private S3AdapterStore() {}

  static AdapterStore open(URI location, S3Settings settings) {
    throw new UnsupportedOperationException("the S3 adapter store is not built yet: " + location);
  }
}
