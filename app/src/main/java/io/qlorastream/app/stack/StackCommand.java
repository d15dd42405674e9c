package io.qlorastream.app.stack;

import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.app.cli.ConfigFileOption;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;

/** {@code qlora-stream stack}: the zero-setup Kafka stack, in this process, until Ctrl-C or SIGTERM. */
@Command(name = "stack",
        description = "Run an embedded single-node Kafka broker (KRaft) on 127.0.0.1 until Ctrl-C / SIGTERM.")
public final class StackCommand implements Callable<Integer> {

    @Mixin
    ConfigFileOption configFile;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "9092",
            description = "Kafka client port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--controller-port", paramLabel = "PORT", defaultValue = "0",
            description = "KRaft controller port; 0 picks a free one, kept across restarts of a --data-dir (default: ${DEFAULT-VALUE}).")
    int controllerPort;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "Keep topics and offsets here across restarts (default: a temporary directory deleted on exit).")
    Path dataDir;

    @Override
    public Integer call() throws InterruptedException {
        PrintStream out = System.out;
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder()
                .port(port)
                .controllerPort(controllerPort)
                .dataDir(dataDir)
                .build()
                .start();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            out.println("Stopping the stack...");
            broker.close();
            out.println("Stack stopped.");
            out.flush();
            stopped.countDown();
        }, "stack-shutdown"));
        out.println("Kafka broker ready: bootstrap servers " + broker.bootstrapServers()
                + (dataDir == null ? " (temporary data, deleted on exit)" : " (data in " + broker.dataDir() + ")"));
        out.println("Press Ctrl-C to stop.");
        out.flush();
        stopped.await();
        return 0;
    }
}
