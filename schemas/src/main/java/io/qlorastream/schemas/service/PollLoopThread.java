package io.qlorastream.schemas.service;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;

/**
 * A service's poll loop on its own named thread. The loop polls until {@link #stopping()}; {@link #close} sets that,
 * wakes the loop's consumer out of a poll and waits for the thread. A failure that ends the loop while it was not
 * stopping is kept ({@link #failure()}) and logged; a wake-up while closing is not a failure.
 */
public final class PollLoopThread implements AutoCloseable {
    /** The loop: it opens its clients, hands its consumer to {@link #wakeOnClose}, and polls until stopping. */
    @FunctionalInterface
    public interface Loop {
        void run() throws Exception;
    }

    private static final long JOIN_MILLIS = 30_000;

    private final Thread thread;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean stopping;
    private volatile Throwable failure;
    private volatile Consumer<?, ?> consumer;

    /**
     * A thread {@code name} (not started) that runs {@code loop}, then {@code finish} however the loop ended; the
     * failure is logged on {@code log} as "{@code what} stopped".
     */
    public PollLoopThread(String name, boolean daemon, Logger log, String what, Loop loop, Runnable finish) {
        thread = new Thread(() -> {
            try {
                loop.run();
            } catch (WakeupException e) {
                // closing
            } catch (Throwable t) {
                if (!stopping) {
                    failure = t;
                    log.error("{} stopped: {}", what, t.toString());
                }
            } finally {
                finish.run();
                stopped.countDown();
            }
        }, name);
        thread.setDaemon(daemon);
    }

    public PollLoopThread start() {
        thread.start();
        return this;
    }

    /** The consumer that {@link #close} wakes out of its poll. */
    public void wakeOnClose(Consumer<?, ?> c) {
        consumer = c;
    }

    public boolean stopping() {
        return stopping;
    }

    public Throwable failure() {
        return failure;
    }

    /** Waits for the loop to end (by {@link #close} or a failure); true if it ended. */
    public boolean awaitStop(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Stops the loop and waits for it (at most 30 s): what the loop was doing completes or is interrupted first. */
    @Override
    public void close() {
        stopping = true;
        Consumer<?, ?> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        try {
            thread.join(JOIN_MILLIS); // returns at once when the loop never started
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
