package io.qlorastream.broker;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;
import org.slf4j.Logger;
import org.apache.commons.io.file.PathUtils;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * A real single-node Kafka broker in KRaft mode (broker and controller in one process), running inside this JVM:
 * real log segments on disk and a real network listener on 127.0.0.1.
 *
 * <p>It follows the path of {@code kafka-storage format} + {@code kafka-server-start}: the log directory is formatted
 * with Kafka's own {@link Formatter} (skipped when it already holds a formatted log, so data survives restarts), then
 * a {@link KafkaRaftServer} is started with a static one-voter quorum. Replication factors and min ISR of the internal
 * topics are 1, so transactions and exactly-once processing work on one node.
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);
    private static final String HOST = "127.0.0.1";
    /** Remembers the controller port of a kept data directory, so a restart finds the same quorum address. */
    private static final String STACK_PROPERTIES = "qlora-stream-broker.properties";

    private final int requestedPort;
    private final int requestedControllerPort;
    private final Path requestedDataDir;
    private final Map<String, String> overrides;

    private KafkaRaftServer server;
    private Path dataDir;
    private boolean temporaryDataDir;
    private int port;
    private int controllerPort;

    private EmbeddedKafkaBroker(Builder builder) {
        this.requestedPort = builder.port;
        this.requestedControllerPort = builder.controllerPort;
        this.requestedDataDir = builder.dataDir;
        this.overrides = Map.copyOf(builder.overrides);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Starts the broker and returns once it answers a metadata request. */
    public synchronized EmbeddedKafkaBroker start() {
        if (server != null) {
            throw new IllegalStateException("broker already started on " + bootstrapServers());
        }
        prepareDataDir();
        Properties stackState = readStackState();
        port = requestedPort == 0 ? freePort() : requirePortFree(requestedPort, "--port");
        controllerPort = chooseControllerPort(stackState);
        writeStackState();

        Properties props = brokerProperties();
        KafkaConfig config = new KafkaConfig(props, false);
        format(config);
        long started = System.nanoTime();
        server = new KafkaRaftServer(config, Time.SYSTEM);
        try {
            server.startup();
            awaitReady(Duration.ofSeconds(60));
        } catch (RuntimeException e) {
            close();
            throw new BrokerStartException("Kafka broker did not start on " + HOST + ":" + port + ": " + e.getMessage(), e);
        }
        log.info("Kafka broker ready on {} in {} ms, data in {}", bootstrapServers(),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), dataDir);
        return this;
    }

    /** The address clients use: {@code 127.0.0.1:<port>}. */
    public String bootstrapServers() {
        return HOST + ":" + port;
    }

    public int port() {
        return port;
    }

    public Path dataDir() {
        return dataDir;
    }

    /** Client properties that reach this broker; callers add their own settings. */
    public Properties clientProperties() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        return p;
    }

    public synchronized boolean isRunning() {
        return server != null;
    }

    /** Shuts the broker down cleanly; deletes the data directory if it was a temporary one. */
    @Override
    public synchronized void close() {
        if (server != null) {
            KafkaRaftServer s = server;
            server = null;
            try {
                s.shutdown();
                s.awaitShutdown();
            } catch (RuntimeException e) {
                log.warn("Kafka broker did not shut down cleanly: {}", e.toString());
            }
        }
        if (temporaryDataDir && dataDir != null) {
            deleteRecursively(dataDir);
            dataDir = null;
        }
    }

    private void prepareDataDir() {
        if (requestedDataDir == null) {
            try {
                dataDir = Files.createTempDirectory("qlora-stream-kafka-");
                temporaryDataDir = true;
            } catch (IOException e) {
                throw new BrokerStartException("cannot create a temporary data directory: " + e.getMessage(), e);
            }
            return;
        }
        dataDir = requestedDataDir.toAbsolutePath();
        temporaryDataDir = false;
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new BrokerStartException("data directory " + requestedDataDir + " cannot be created: " + e.getMessage(), e);
        }
        // isWritable can say yes for root on a read-only directory; a real write is the only honest test.
        Path probe = dataDir.resolve(".write-probe");
        try {
            Files.writeString(probe, "ok");
            Files.delete(probe);
        } catch (IOException e) {
            throw new BrokerStartException("data directory " + requestedDataDir + " is not writable", e);
        }
    }

    private Properties readStackState() {
        Properties p = new Properties();
        Path file = dataDir.resolve(STACK_PROPERTIES);
        if (Files.exists(file)) {
            try (InputStream in = Files.newInputStream(file)) {
                p.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return p;
    }

    private void writeStackState() {
        Properties p = new Properties();
        p.setProperty("controller.port", Integer.toString(controllerPort));
        try (OutputStream out = Files.newOutputStream(dataDir.resolve(STACK_PROPERTIES))) {
            p.store(out, "qlora-stream embedded broker");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private int chooseControllerPort(Properties stackState) {
        if (requestedControllerPort != 0) {
            return requirePortFree(requestedControllerPort, "--controller-port");
        }
        String remembered = stackState.getProperty("controller.port");
        if (remembered != null && isPortFree(Integer.parseInt(remembered))) {
            return Integer.parseInt(remembered);
        }
        int p;
        do {
            p = freePort();
        } while (p == port);
        return p;
    }

    private Properties brokerProperties() {
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.voters", "1@" + HOST + ":" + controllerPort);
        p.put("listeners", "PLAINTEXT://" + HOST + ":" + port + ",CONTROLLER://" + HOST + ":" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://" + HOST + ":" + port);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("log.dirs", dataDir.resolve("kafka-logs").toString());
        // One node: every internal topic has one replica, and transactions need min ISR 1.
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "5");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "5");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("default.replication.factor", "1");
        p.put("min.insync.replicas", "1");
        // A single node has nobody to wait for before the first rebalance.
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("log.flush.interval.messages", Long.toString(Long.MAX_VALUE));
        p.put("auto.create.topics.enable", "true");
        p.putAll(overrides);
        return p;
    }

    private void format(KafkaConfig config) {
        Path logDir = dataDir.resolve("kafka-logs");
        if (Files.exists(logDir.resolve("meta.properties"))) {
            return; // formatted by an earlier start: keep its cluster id and data
        }
        try {
            Files.createDirectories(logDir);
            new Formatter()
                    .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                    .setNodeId(1)
                    .setClusterId(Uuid.randomUuid().toString())
                    .setDirectories(List.of(logDir.toString()))
                    .setMetadataLogDirectory(logDir.toString())
                    .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
                    .setControllerListenerName("CONTROLLER")
                    .run();
        } catch (Exception e) {
            throw new BrokerStartException("cannot format Kafka log directory " + logDir + ": " + e.getMessage(), e);
        }
    }

    private void awaitReady(Duration timeout) {
        Properties p = clientProperties();
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        try (Admin admin = Admin.create(p)) {
            while (System.nanoTime() < deadline) {
                try {
                    if (!admin.describeCluster().nodes().get(10, TimeUnit.SECONDS).isEmpty()) {
                        return;
                    }
                } catch (Exception e) {
                    last = e;
                }
                sleep(100);
            }
        }
        throw new IllegalStateException("no answer to a metadata request within " + timeout.toSeconds() + " s"
                + (last == null ? "" : ": " + last));
    }

    private static int requirePortFree(int port, String option) {
        if (!isPortFree(port)) {
            throw new BrokerStartException("port " + port + " (" + option + ") is already in use on " + HOST);
        }
        return port;
    }

    private static boolean isPortFree(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getByName(HOST), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** An ephemeral port that was free a moment ago. */
    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getByName(HOST))) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    static void deleteRecursively(Path dir) {
        try {
            PathUtils.delete(dir);
        } catch (IOException e) {
            log.debug("could not delete {}: {}", dir, e.toString());
        }
    }

    /** Settings of an embedded broker; every one has a default that suits tests. */
    public static final class Builder {
        private int port;
        private int controllerPort;
        private Path dataDir;
        private final Map<String, String> overrides = new HashMap<>();

        /** The client listener's port on 127.0.0.1; 0 (default) picks a free one. */
        public Builder port(int port) {
            this.port = port;
            return this;
        }

        /** The KRaft controller listener's port; 0 (default) picks a free one, or reuses a kept data dir's. */
        public Builder controllerPort(int controllerPort) {
            this.controllerPort = controllerPort;
            return this;
        }

        /** Where logs live and survive restarts; null (default) means a temporary directory deleted on close. */
        public Builder dataDir(Path dataDir) {
            this.dataDir = dataDir;
            return this;
        }

        /** Any broker setting, applied last. */
        public Builder brokerProperty(String key, String value) {
            overrides.put(key, value);
            return this;
        }

        public EmbeddedKafkaBroker build() {
            return new EmbeddedKafkaBroker(this);
        }
    }
}
