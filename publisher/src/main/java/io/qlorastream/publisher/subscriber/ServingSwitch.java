package io.qlorastream.publisher.subscriber;

import io.micrometer.core.instrument.Counter;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.schemas.OneLine;
import io.qlorastream.schemas.service.ServiceMeters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;

/**
 * Tells a {@link ServingTarget} of each release the subscriber verified and installed, trying again with exponential
 * backoff while the server refuses or is down, and counts every outcome in
 * {@code qlora_subscriber_switches_total{target, adapter, outcome}}: {@code switched}; {@code failed} (every try
 * failed: the server still serves the replaced version); {@code unsupported} (the server cannot serve this adapter;
 * nothing was sent); {@code refused} (the release did not verify, so nothing was sent). Retries count in
 * {@code qlora_subscriber_switch_retries_total{target, adapter}}. Runs on the subscriber's thread: a switch being
 * retried holds back the next release, for at most the backoff's bounded total.
 */
public final class ServingSwitch implements ReleaseListener, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ServingSwitch.class);

    /** What became of one release at the target. */
    public enum Outcome { SWITCHED, FAILED, UNSUPPORTED, REFUSED }

    /** Told of each outcome (the command prints it); {@code detail} says why for all but SWITCHED. */
    public interface OutcomeListener {
        void outcome(AdapterRelease release, Outcome outcome, String detail);
    }

    private final ServingTarget target;
    private final Backoff backoff;
    private final OutcomeListener listener;
    private final ServiceMeters meters = new ServiceMeters();

    public ServingSwitch(ServingTarget target, Backoff backoff, OutcomeListener listener) {
        this.target = target;
        this.backoff = backoff;
        this.listener = listener;
    }

    public ServingSwitch(ServingTarget target, Backoff backoff) {
        this(target, backoff, (r, o, d) -> { });
    }

    @Override
    public void installed(AdapterRelease release, Path versionDir, Integer replacedVersion) {
        String unsupported = target.unsupported(release, versionDir);
        if (unsupported != null) {
            report(release, Outcome.UNSUPPORTED, unsupported);
            return;
        }
        for (int attempt = 1; ; attempt++) {
            try {
                target.switchTo(release, versionDir, replacedVersion);
                report(release, Outcome.SWITCHED, null);
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // the subscriber is closing
                report(release, Outcome.FAILED, "interrupted");
                return;
            } catch (Exception e) {
                String why = OneLine.of(e);
                if (attempt >= backoff.attempts()) {
                    report(release, Outcome.FAILED, "after " + attempt + " tries: " + why);
                    return;
                }
                long waitMs = backoff.delayAfter(attempt).toMillis();
                LOG.warn("{}: switching {} to v{} failed (try {} of {}), trying again in {} ms: {}", target.name(),
                        release.getAdapterName(), release.getVersion(), attempt, backoff.attempts(), waitMs, why);
                meters.count(Counter.builder("qlora.subscriber.switch.retries").tag("target", target.name())
                        .tag("adapter", release.getAdapterName()).description("Switches tried again after the server refused or was down"));
                try {
                    Thread.sleep(waitMs);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    report(release, Outcome.FAILED, "interrupted");
                    return;
                }
            }
        }
    }

    @Override
    public void refused(AdapterRelease release, String reason) {
        report(release, Outcome.REFUSED, reason);
    }

    private void report(AdapterRelease r, Outcome outcome, String detail) {
        String o = outcome.name().toLowerCase(java.util.Locale.ROOT);
        meters.count(Counter.builder("qlora.subscriber.switches").tag("target", target.name()).tag("adapter", r.getAdapterName())
                .tag("outcome", o).description("Releases by what the serving target made of them"));
        if (outcome == Outcome.SWITCHED) {
            LOG.info("{}: {} v{} is served", target.name(), r.getAdapterName(), r.getVersion());
        } else {
            LOG.warn("{}: {} v{} {}: {}", target.name(), r.getAdapterName(), r.getVersion(), o, detail);
        }
        listener.outcome(r, outcome, detail);
    }

    @Override
    public void close() {
        meters.close();
    }
}
