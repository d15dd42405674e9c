package io.qlorastream.schemas.service;

import org.apache.kafka.clients.consumer.MockConsumer;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class PollLoopThreadTest {
    @Test
    void closeWakesTheLoopOutOfItsPollAndIsNoFailure() throws Exception {
        MockConsumer<String, String> consumer = new MockConsumer<>("earliest");
        AtomicInteger finished = new AtomicInteger();
        PollLoopThread[] self = new PollLoopThread[1];
        PollLoopThread loop = new PollLoopThread("test-loop", true, LoggerFactory.getLogger(getClass()), "test", () -> {
            self[0].wakeOnClose(consumer);
            while (!self[0].stopping()) {
                consumer.poll(Duration.ofMillis(50));
            }
        }, finished::incrementAndGet);
        self[0] = loop;
        loop.start();
        Thread.sleep(200);
        loop.close();
        assertThat(loop.awaitStop(Duration.ofSeconds(5))).isTrue();
        assertThat(loop.failure()).isNull();
        assertThat(finished).hasValue(1);
    }

    @Test
    void aFailureThatEndsTheLoopIsKept() throws Exception {
        PollLoopThread loop = new PollLoopThread("test-loop", true, LoggerFactory.getLogger(getClass()), "test", () -> {
            throw new IllegalStateException("broker gone");
        }, () -> { });
        loop.start();
        assertThat(loop.awaitStop(Duration.ofSeconds(5))).isTrue();
        assertThat(loop.failure()).hasMessage("broker gone");
        loop.close();
    }
}
