package io.qlorastream.app.stack;

import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.app.cli.ConfigFileOption;
import io.qlorastream.schemas.registry.server.EmbeddedSchemaRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;

/** {@code qlora-stream stack}: the zero-setup Kafka stack (broker + schema registry), in this process, until Ctrl-C or SIGTERM. */
@Command(name = "stack",
        description = "Run an embedded single-node Kafka broker (KRaft) and a Confluent-compatible schema registry on 127.0.0.1 until Ctrl-C / SIGTERM.")
public final class StackCommand implements Callable<Integer> {
    private static final String HOST = "127.0.0.1";

    @Mixin
    ConfigFileOption configFile;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "9092",
            description = "Kafka client port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--controller-port", paramLabel = "PORT", defaultValue = "0",
            description = "KRaft controller port; 0 picks a free one, kept across restarts of a --data-dir (default: ${DEFAULT-VALUE}).")
    int controllerPort;

    @Option(names = "--registry-port", paramLabel = "PORT", defaultValue = "8081",
            description = "Schema registry HTTP port (default: ${DEFAULT-VALUE}); its state lives in the topic _schemas.")
    int registryPort;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "Keep topics, offsets and registered schemas here across restarts (default: a temporary directory deleted on exit).")
    Path dataDir;

    @Override
    public Integer call() throws InterruptedException {
        PrintStream out = System.out;
        // Checked first so that a taken registry port fails before the broker spends seconds starting.
        EmbeddedSchemaRegistry.requirePortFree(HOST, registryPort, "--registry-port");
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder()
                .port(port)
                .controllerPort(controllerPort)
                .dataDir(dataDir)
                .build()
                .start();
        EmbeddedSchemaRegistry registry;
        try {
            registry = EmbeddedSchemaRegistry.builder()
                    .bootstrapServers(broker.bootstrapServers())
                    .host(HOST)
                    .port(registryPort)
                    .build()
                    .start();
        } catch (RuntimeException e) {
            broker.close();
            throw e;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            out.println("Stopping the stack...");
            registry.close();
            broker.close();
            out.println("Stack stopped.");
            out.flush();
            stopped.countDown();
        }, "stack-shutdown"));
        out.println("Kafka broker ready: bootstrap servers " + broker.bootstrapServers()
                + (dataDir == null ? " (temporary data, deleted on exit)" : " (data in " + broker.dataDir() + ")"));
        out.println("Schema registry ready: " + registry.url() + " (state in topic " + registry.topic() + ")");
        out.println("Press Ctrl-C to stop.");
        out.flush();
        stopped.await();
        return 0;
    }
}
