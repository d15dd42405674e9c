package io.qlorastream.app.publisher;

import io.qlorastream.app.metrics.MetricsEndpoint;
import io.qlorastream.app.metrics.MetricsOptions;

import io.qlorastream.app.cli.KafkaOptions;
import io.qlorastream.app.cli.TopicOptions;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.publisher.SigningKeys;
import io.qlorastream.publisher.subscriber.AdapterSubscriber;
import io.qlorastream.publisher.subscriber.ReleaseListener;
import io.qlorastream.publisher.subscriber.VllmLoraClient;
import io.qlorastream.schemas.contract.Topic;
import io.qlorastream.schemas.OneLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.regex.PatternSyntaxException;

/** {@code qlora-stream subscribe}: keeps a directory in sync with the released adapters. */
@Command(name = "subscribe",
        description = {"Keep DIR in sync with adapter-releases: each release is verified (Ed25519 signature against --trusted-key, "
                + "SHA-256 of every file), stored in DIR/<adapter>/v<N>/ (PEFT layout), and DIR/<adapter>/current is switched to it "
                + "atomically; a release that fails a check is refused and current stays.",
                "With --vllm-url each new version is loaded into a running vLLM server (POST /v1/load_lora_adapter, lora_name "
                        + "<adapter>-v<N>) and the version it replaces unloaded (POST /v1/unload_lora_adapter)."})
public final class SubscribeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    KafkaOptions kafka;

    @Mixin
    TopicOptions topics = new TopicOptions(Topic.ADAPTER_RELEASES);

    @Option(names = "--dir", paramLabel = "DIR", required = true, description = "Local directory of the adapters (required).")
    Path dir;

    @Option(names = "--adapter", paramLabel = "NAME", split = ",", description = "Only these adapters (repeatable; default: all).")
    List<String> adapters = new ArrayList<>();

    @Option(names = "--adapter-pattern", paramLabel = "REGEX", description = "Only adapters whose whole name matches REGEX.")
    String adapterPattern;

    @Option(names = "--trusted-key", paramLabel = "FILE",
            description = "The publisher's public key (PEM, its release-signing.pub). Without it each release is checked against the "
                    + "key it carries: integrity, not authenticity.")
    Path trustedKey;

    @Option(names = "--vllm-url", paramLabel = "URL", description = "Base URL of a vLLM server to load each release into.")
    URI vllmUrl;

    @Mixin
    MetricsOptions metrics;

    @Override
    public Integer call() throws Exception {
        try (MetricsEndpoint endpoint = metrics.start("subscriber", System.out)) {
            return serve();
        }
    }

    private Integer serve() throws Exception {
        if (!adapters.isEmpty() && adapterPattern != null) {
            throw new ParameterException(spec.commandLine(), "--adapter and --adapter-pattern exclude each other");
        }
        PrintStream out = System.out;
        PublicKey key = trustedKey == null ? null : SigningKeys.readPublicKey(trustedKey);
        AdapterSubscriber.Builder b = subscriber(kafka.clientProperties(), dir, topics.name(Topic.ADAPTER_RELEASES), key);
        if (adapterPattern != null) {
            try {
                b.adapterPattern(adapterPattern);
            } catch (PatternSyntaxException e) {
                throw new ParameterException(spec.commandLine(), "--adapter-pattern: " + OneLine.of(e));
            }
        } else {
            b.adapters(adapters);
        }
        if (key != null) {
            out.println("Trusting releases signed by key " + SigningKeys.keyId(key));
        } else {
            out.println("No --trusted-key: each release is checked against the public key it carries (integrity, not authenticity).");
        }
        ReleaseListener printer = new ReleaseListener() {
            @Override
            public void installed(AdapterRelease r, Path versionDir, Integer replaced) {
                out.println(r.getAdapterName() + " v" + r.getVersion() + " (" + r.getKind() + ") is current: " + versionDir
                        + (replaced == null || replaced == r.getVersion() ? "" : " (was v" + replaced + ")"));
                out.flush();
            }

            @Override
            public void refused(AdapterRelease r, String reason) {
                out.println("refused " + r.getAdapterName() + " v" + r.getVersion() + " (" + r.getKind() + "): " + reason);
                out.flush();
            }
        };
        AdapterSubscriber s = b.listener(vllmUrl == null ? printer : ReleaseListener.both(printer, new VllmLoraClient(vllmUrl))).build();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            s.close();
            out.println("Subscriber stopped.");
            out.flush();
        }, "subscribe-shutdown"));
        s.start();
        out.println("Subscribed to " + topics.name(Topic.ADAPTER_RELEASES) + " into " + dir.toAbsolutePath() + ". Ctrl-C to stop.");
        out.flush();
        if (s.awaitCaughtUp(Duration.ofDays(1))) {
            out.println("Caught up with " + topics.name(Topic.ADAPTER_RELEASES) + ".");
            out.flush();
        }
        s.awaitStop(Duration.ofDays(36500));
        if (s.failure() != null) {
            throw new IllegalStateException("subscriber stopped: " + OneLine.of(s.failure()));
        }
        return 0;
    }

    /**
     * A subscriber of {@code topic} into {@code dir} as this command builds it, trusting releases signed by
     * {@code trustedKey} ({@code null}: each release's own key); the caller picks the adapters and the listener.
     */
    public static AdapterSubscriber.Builder subscriber(Properties client, Path dir, String topic,
                                                       PublicKey trustedKey) {
        AdapterSubscriber.Builder b = AdapterSubscriber.builder(client, dir).topic(topic);
        return trustedKey == null ? b : b.trustedKey(trustedKey);
    }
}
