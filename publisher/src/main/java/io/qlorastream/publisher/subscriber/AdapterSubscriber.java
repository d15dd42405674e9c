package io.qlorastream.publisher.subscriber;

import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;

import io.qlorastream.events.AdapterRelease;
import io.qlorastream.publisher.KafkaClients;
import io.qlorastream.schemas.contract.Topic;
import io.qlorastream.schemas.service.PollLoopThread;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Keeps a local directory in sync with {@code adapter-releases}, for a JVM service that serves adapters: reads the
 * compacted topic from the beginning (every partition, no consumer group, nothing committed, committed transactions
 * only), so a subscriber started late still gets the current release of every adapter; for each release of an adapter
 * it wants, verifies the Ed25519 signature (against the trusted key), fetches the files into
 * {@code <dir>/<adapter>/v<N>/}, verifies their SHA-256, switches {@code <dir>/<adapter>/current} atomically and then
 * calls the listener. A release that fails any check is refused and logged, and {@code current} stays where it was.
 * Of several releases of one adapter read in one poll only the newest is installed: it is the current one.
 * <pre>
 * AdapterSubscriber s = AdapterSubscriber.builder(clientProperties, Path.of("/srv/adapters"))
 *         .adapters(Set.of("support")).trustedKey(SigningKeys.readPublicKey(Path.of("release-signing.pub")))
 *         .listener((release, dir, replaced) -&gt; reload(dir)).build().start();
 * </pre>
 * {@code clientProperties} needs {@code bootstrap.servers} and {@code schema.registry.url} (and any security settings).
 */
public final class AdapterSubscriber implements AutoCloseable {
    private final SubscriberMetrics metrics = new SubscriberMetrics();
    private static final Logger LOG = LoggerFactory.getLogger(AdapterSubscriber.class);

    private final Properties client;
    private final String topic;
    private final Predicate<String> wanted;
    private final Path dir;
    private final Duration retryInterval;
    private final LocalReleases local;
    private final ReleaseListener listener;
    private final Map<String, String> lastSeen = new HashMap<>(); // adapter -> signature of the last release handled
    private final Map<String, AdapterRelease> retry = new LinkedHashMap<>();
    private long nextRetry = System.nanoTime();
    private final CountDownLatch caughtUp = new CountDownLatch(1);
    private final PollLoopThread loop = new PollLoopThread("qlora-subscriber", true, LOG, "subscriber", this::run,
            caughtUp::countDown);

    private AdapterSubscriber(Builder b) {
        this.client = b.client;
        this.topic = b.topic;
        this.wanted = b.wanted;
        this.dir = b.dir;
        this.retryInterval = b.retryInterval;
        this.local = new LocalReleases(b.dir, b.trustedKey);
        this.listener = b.listener;
    }

    public static Builder builder(Properties client, Path dir) {
        return new Builder(client, dir);
    }

    /** Settings: which adapters (default all), the trusted key (default: none), the listener, the topic. */
    public static final class Builder {
        private final Properties client;
        private final Path dir;
        private String topic = Topic.ADAPTER_RELEASES.defaultName();
        private Predicate<String> wanted = name -> true;
        private PublicKey trustedKey;
        private ReleaseListener listener = (r, d, v) -> { };
        private Duration retryInterval = Duration.ofSeconds(10);

        private Builder(Properties client, Path dir) {
            this.client = client;
            this.dir = dir;
        }

        public Builder topic(String t) {
            this.topic = t;
            return this;
        }

        /** Only these adapters; an empty set means all. */
        public Builder adapters(Collection<String> names) {
            Set<String> s = Set.copyOf(names);
            this.wanted = s.isEmpty() ? n -> true : s::contains;
            return this;
        }

        /** Only adapters whose whole name matches {@code regex}. */
        public Builder adapterPattern(String regex) {
            Pattern p = Pattern.compile(regex);
            this.wanted = n -> p.matcher(n).matches();
            return this;
        }

        /** The publisher's public key; without one each release is checked against the key it carries. */
        public Builder trustedKey(PublicKey key) {
            this.trustedKey = key;
            return this;
        }

        /** How long to wait before fetching again a release whose files could not be fetched (default 10 s). */
        public Builder retryInterval(Duration d) {
            this.retryInterval = d;
            return this;
        }

        public Builder listener(ReleaseListener l) {
            this.listener = l;
            return this;
        }

        public AdapterSubscriber build() {
            return new AdapterSubscriber(this);
        }
    }

    /** Starts reading on its own thread. */
    public AdapterSubscriber start() {
        loop.start();
        return this;
    }

    /** Waits until every release on the topic when the subscriber started has been handled; false on timeout or failure. */
    public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
        return caughtUp.await(timeout.toMillis(), TimeUnit.MILLISECONDS) && loop.failure() == null;
    }

    public boolean awaitStop(Duration timeout) throws InterruptedException {
        return loop.awaitStop(timeout);
    }

    public Throwable failure() {
        return loop.failure();
    }

    public LocalReleases local() {
        return local;
    }

    private void run() throws Exception {
        try (KafkaConsumer<String, AdapterRelease> c = new KafkaConsumer<>(KafkaClients.consumer(client, null));
             KafkaClientMetrics clientMetrics = new KafkaClientMetrics(c)) {
            loop.wakeOnClose(c);
            clientMetrics.bindTo(Metrics.globalRegistry); // the consumer's own metrics next to ours
            List<TopicPartition> partitions = partitions(c);
            c.assign(partitions);
            c.seekToBeginning(partitions);
            Map<TopicPartition, Long> endAtStart = c.endOffsets(partitions);
            boolean atEnd = false;
            while (!loop.stopping()) {
                try {
                    handle(toList(c.poll(Duration.ofMillis(500))));
                } catch (RecordDeserializationException e) {
                    LOG.warn("skipping undecodable record {} at offset {}", e.topicPartition(), e.offset());
                    c.seek(e.topicPartition(), e.offset() + 1);
                }
                retryDue();
                if (!atEnd && partitions.stream().allMatch(tp -> c.position(tp) >= endAtStart.getOrDefault(tp, 0L))) {
                    atEnd = true;
                    caughtUp.countDown();
                }
            }
        }
    }

    private List<TopicPartition> partitions(KafkaConsumer<String, AdapterRelease> c) throws InterruptedException {
        // The topic may not exist yet (the publisher creates it): wait for it rather than fail.
        while (!loop.stopping()) {
            List<PartitionInfo> infos = c.partitionsFor(topic, Duration.ofSeconds(10));
            if (infos != null && !infos.isEmpty()) {
                return infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            }
            LOG.info("waiting for topic {}", topic);
            Thread.sleep(1000);
        }
        throw new WakeupException();
    }

    private static <T> List<T> toList(Iterable<T> it) {
        List<T> l = new java.util.ArrayList<>();
        it.forEach(l::add);
        return l;
    }

    private void handle(List<ConsumerRecord<String, AdapterRelease>> batch) {
        Map<String, AdapterRelease> newest = new LinkedHashMap<>();
        for (ConsumerRecord<String, AdapterRelease> r : batch) {
            if (r.value() == null || r.key() == null || !wanted.test(r.key())) {
                continue;
            }
            if (!r.key().equals(r.value().getAdapterName())) {
                LOG.warn("refused: record key {} differs from adapter name {}", r.key(), r.value().getAdapterName());
                continue;
            }
            newest.remove(r.key()); // keep the order of the newest ones
            newest.put(r.key(), r.value());
        }
        for (AdapterRelease r : newest.values()) {
            if (r.getSignature().equals(lastSeen.get(r.getAdapterName()))) {
                continue;
            }
            lastSeen.put(r.getAdapterName(), r.getSignature());
            retry.remove(r.getAdapterName()); // a newer release replaces one waiting for another try
            install(r);
        }
    }

    /** Installs one release; a release that could not be fetched (not a bad one) is tried again later. */
    private void install(AdapterRelease r) {
        try {
            Integer replaced = local.install(r);
            LOG.info("{} v{} ({}) is current{}", r.getAdapterName(), r.getVersion(), r.getKind(),
                    replaced == null || replaced == r.getVersion() ? "" : ", replacing v" + replaced);
            metrics.installed(r.getAdapterName(), r.getVersion());
            listener.installed(r, dirOf(r), replaced);
        } catch (LocalReleases.RefusedException e) {
            LOG.warn("refused {} v{} ({}): {}", r.getAdapterName(), r.getVersion(), r.getKind(), e.getMessage());
            metrics.refused(r.getAdapterName());
            listener.refused(r, e.getMessage());
        } catch (Exception e) {
            LOG.warn("could not install {} v{}, trying again in {} s: {}", r.getAdapterName(), r.getVersion(), retryInterval.toMillis() / 1000.0, e.toString());
            metrics.fetchFailed(r.getAdapterName());
            retry.put(r.getAdapterName(), r);
        }
    }

    private void retryDue() {
        if (retry.isEmpty() || System.nanoTime() < nextRetry) {
            return;
        }
        nextRetry = System.nanoTime() + retryInterval.toNanos();
        List<AdapterRelease> due = List.copyOf(retry.values());
        retry.clear();
        due.forEach(this::install);
    }

    private Path dirOf(AdapterRelease r) {
        return dir.resolve(r.getAdapterName()).resolve("v" + r.getVersion());
    }

    @Override
    public void close() {
        loop.close();
        metrics.close();
    }
}
