package io.qlorastream.app.publisher;

import io.qlorastream.app.metrics.MetricsEndpoint;
import io.qlorastream.app.metrics.MetricsOptions;

import io.qlorastream.app.cli.KafkaOptions;
import io.qlorastream.app.cli.TopicOptions;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.publisher.SigningKeys;
import io.qlorastream.publisher.subscriber.AdapterSubscriber;
import io.qlorastream.publisher.subscriber.ReleaseListener;
import io.qlorastream.publisher.subscriber.Backoff;
import io.qlorastream.publisher.subscriber.LlamaCppTarget;
import io.qlorastream.publisher.subscriber.ServingSwitch;
import io.qlorastream.publisher.subscriber.ServingTarget;
import io.qlorastream.publisher.subscriber.SglangTarget;
import io.qlorastream.publisher.subscriber.VllmTarget;
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
                "--target then makes a server serve it, only once it verified: vllm (load <adapter>-v<N>, then unload the replaced "
                        + "version; or --stable-name, loaded in place), sglang (load, then unload), llamacpp (the release's adapter.gguf "
                        + "and the --on-switch hook), dir (the directory only). A server that refuses or is down is tried again with "
                        + "exponential backoff; after a failed switch it still serves the replaced version."})
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

    /** Where the releases are served. */
    enum Target { vllm, sglang, llamacpp, dir }

    @Option(names = "--target", paramLabel = "TARGET",
            description = "vllm, sglang, llamacpp or dir (default: vllm with --vllm-url, else dir).")
    Target target;

    @Option(names = "--server-url", paramLabel = "URL", description = "Base URL of the vllm or sglang server.")
    URI serverUrl;

    @Option(names = "--vllm-url", paramLabel = "URL", description = "Same as --target vllm --server-url URL.")
    URI vllmUrl;

    @Option(names = "--stable-name", paramLabel = "NAME",
            description = "vllm: serve every version under this one name, reloaded in place ({adapter} stands for the adapter's name; "
                    + "without it, one adapter only). Default: a name per version, <adapter>-v<N>.")
    String stableName;

    @Option(names = "--served-base-name", paramLabel = "NAME",
            description = "vllm: also lay each version out for vLLM's filesystem LoRA resolver, with base_model_name_or_path NAME "
                    + "(the server's served model name), in --resolver-dir.")
    String servedBaseName;

    @Option(names = "--resolver-dir", paramLabel = "DIR",
            description = "vllm: the resolver's directory, VLLM_LORA_RESOLVER_CACHE_DIR (default: DIR/.lora-resolver).")
    Path resolverDir;

    @Option(names = "--on-switch", paramLabel = "CMD",
            description = "llamacpp: shell command run after each install (e.g. a restart), with QLORA_ADAPTER_GGUF set to the "
                    + "installed adapter.gguf.")
    String onSwitch;

    @Option(names = "--switch-attempts", paramLabel = "N", defaultValue = "6",
            description = "Tries per switch while the server refuses or is down (default: ${DEFAULT-VALUE}).")
    int switchAttempts;

    @Option(names = "--switch-backoff", paramLabel = "SECONDS", defaultValue = "1",
            description = "Wait after the first failed try, doubled after each next one (default: ${DEFAULT-VALUE}).")
    double switchBackoff;

    @Option(names = "--switch-backoff-max", paramLabel = "SECONDS", defaultValue = "30",
            description = "The longest wait between tries (default: ${DEFAULT-VALUE}).")
    double switchBackoffMax;

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
        ServingTarget served = target();
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
        ServingSwitch serving = new ServingSwitch(served, backoff(), (r, outcome, detail) -> {
            if (outcome != ServingSwitch.Outcome.REFUSED && !served.name().equals("dir")) {
                out.println(served.name() + ": " + r.getAdapterName() + " v" + r.getVersion() + " "
                        + outcome.name().toLowerCase(java.util.Locale.ROOT) + (detail == null ? "" : ": " + detail));
                out.flush();
            }
        });
        AdapterSubscriber s = b.listener(ReleaseListener.both(printer, serving)).build();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            s.close();
            serving.close();
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

    /** The serving target the options name; a one-line usage error for options that do not fit it. */
    private ServingTarget target() {
        Target t = target != null ? target : vllmUrl != null ? Target.vllm : Target.dir;
        if (vllmUrl != null && (t != Target.vllm || serverUrl != null)) {
            throw usage("--vllm-url goes with --target vllm only, and replaces --server-url");
        }
        URI url = vllmUrl != null ? vllmUrl : serverUrl;
        if ((t == Target.vllm || t == Target.sglang) != (url != null)) {
            throw usage(url == null ? "--target " + t + " needs --server-url URL" : "--server-url is for --target vllm or sglang");
        }
        if (t != Target.vllm && (stableName != null || servedBaseName != null || resolverDir != null)) {
            throw usage("--stable-name, --served-base-name and --resolver-dir are for --target vllm");
        }
        if (t != Target.llamacpp && onSwitch != null) {
            throw usage("--on-switch is for --target llamacpp");
        }
        if (stableName != null && !stableName.contains("{adapter}") && adapters.size() != 1) {
            throw usage("--stable-name " + stableName + " serves one adapter: name exactly one --adapter, or put {adapter} in it");
        }
        if (resolverDir != null && servedBaseName == null) {
            throw usage("--resolver-dir needs --served-base-name");
        }
        return switch (t) {
            case vllm -> new VllmTarget(url, stableName, servedBaseName,
                    servedBaseName == null ? null : resolverDir != null ? resolverDir : dir.resolve(".lora-resolver"));
            case sglang -> new SglangTarget(url);
            case llamacpp -> new LlamaCppTarget(onSwitch);
            case dir -> ServingTarget.directoryOnly();
        };
    }

    private Backoff backoff() {
        try {
            return new Backoff(switchAttempts, Duration.ofMillis(Math.round(switchBackoff * 1000)),
                    Duration.ofMillis(Math.round(switchBackoffMax * 1000)));
        } catch (IllegalArgumentException e) {
            throw usage("--switch-attempts / --switch-backoff / --switch-backoff-max: " + e.getMessage());
        }
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
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
