package io.qlorastream.app;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The fat jar run as a child process (`java -jar qlora-stream.jar ...`), its output captured line by line. */
public final class JarProcess implements AutoCloseable {
    private final Process process;
    private final List<String> stdout = new ArrayList<>();
    private final List<String> stderr = new ArrayList<>();
    private final List<Thread> pumps;

    private JarProcess(Process process) {
        this.process = process;
        this.pumps = List.of(pump(process.getInputStream(), stdout, "stdout"), pump(process.getErrorStream(), stderr, "stderr"));
    }

    public static JarProcess start(String... args) throws IOException {
        return start(Map.of(), args);
    }

    public static JarProcess start(Map<String, String> env, String... args) throws IOException {
        Path jar = Path.of(System.getProperty("qlora.stream.jar", "target/qlora-stream.jar"));
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("fat jar not built: " + jar + " (run mvn package first)");
        }
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g", "-jar", jar.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(env);
        return new JarProcess(pb.start());
    }

    private static Thread pump(InputStream in, List<String> sink, String name) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (sink) {
                        sink.add(line);
                        sink.notifyAll();
                    }
                }
            } catch (IOException ignored) {
                // the process ended
            }
        }, "jar-" + name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** Waits for a stdout line containing {@code fragment} and returns it. */
    public String awaitStdout(String fragment, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (stdout) {
            while (true) {
                for (String line : stdout) {
                    if (line.contains(fragment)) {
                        return line;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0 || (!process.isAlive() && stdout.stream().noneMatch(l -> l.contains(fragment)))) {
                    if (!process.isAlive()) {
                        // give the pump a moment to drain what the process wrote last
                        stdout.wait(200);
                        for (String line : stdout) {
                            if (line.contains(fragment)) {
                                return line;
                            }
                        }
                    }
                    throw new AssertionError("no stdout line with '" + fragment + "' within " + timeout
                            + "; stdout=" + stdout + " stderr=" + stderr());
                }
                stdout.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(Math.min(left, 200_000_000L))));
            }
        }
    }

    /** Waits for the process to exit by itself; returns its exit code. */
    public int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("process did not exit within " + timeout + "; stdout=" + stdout() + " stderr=" + stderr());
        }
        drain();
        return process.exitValue();
    }

    /** Sends SIGTERM, waits for exit, returns the exit code. */
    public int terminate(Duration timeout) throws InterruptedException, IOException {
        // Process.destroy() would also close our ends of its pipes and lose its last lines; kill(1) does not.
        new ProcessBuilder("kill", "-TERM", Long.toString(process.pid())).inheritIO().start().waitFor();
        return awaitExit(timeout);
    }

    /** Sends SIGKILL and waits. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    public long pid() {
        return process.pid();
    }

    private void drain() throws InterruptedException {
        for (Thread pump : pumps) {
            pump.join(10_000); // the pumps read the last lines after exit
        }
    }

    public String stdout() {
        synchronized (stdout) {
            return String.join("\n", stdout);
        }
    }

    public String stderr() {
        synchronized (stderr) {
            return String.join("\n", stderr);
        }
    }

    public List<String> stderrLines() {
        synchronized (stderr) {
            return List.copyOf(stderr);
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
