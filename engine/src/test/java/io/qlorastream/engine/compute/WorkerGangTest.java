package io.qlorastream.engine.compute;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

class WorkerGangTest {

    @Test
    void everyTaskOfEveryCallRunsExactlyOnceBeforeTheCallReturns() {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (WorkerGang gang = new WorkerGang(3, "test-gang")) {
                Set<String> threads = ConcurrentHashMap.newKeySet();
                for (int call = 0; call < 20_000; call++) {
                    int count = 1 + call % 3;
                    AtomicIntegerArray ran = new AtomicIntegerArray(3);
                    // park some calls' helpers: every 1000th call waits longer than the helpers spin
                    if (call % 1000 == 999) {
                        Thread.sleep(2);
                    }
                    gang.run(count, task -> {
                        ran.incrementAndGet(task);
                        threads.add(Thread.currentThread().getName());
                    });
                    for (int t = 0; t < 3; t++) {
                        assertThat(ran.get(t)).as("call %d task %d", call, t).isEqualTo(t < count ? 1 : 0);
                    }
                }
                // the caller runs task 0, the two helpers the others
                assertThat(threads).contains(Thread.currentThread().getName(), "test-gang-1", "test-gang-2");
            }
        });
    }

    @Test
    void aFailingTaskFailsTheCallWithItsOwnExceptionAndTheGangGoesOn() {
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            try (WorkerGang gang = new WorkerGang(2, "test-gang")) {
                assertThatThrownBy(() -> gang.run(2, task -> {
                    if (task == 1) {
                        throw new IllegalArgumentException("bad row 7");
                    }
                })).isInstanceOf(IllegalArgumentException.class).hasMessage("bad row 7");
                assertThatThrownBy(() -> gang.run(2, task -> {
                    if (task == 0) {
                        throw new OutOfMemoryError("caller's share");
                    }
                })).isInstanceOf(OutOfMemoryError.class).hasMessage("caller's share");
                AtomicLong sum = new AtomicLong();
                gang.run(2, task -> sum.addAndGet(task + 1));
                assertThat(sum.get()).isEqualTo(3);
                assertThatThrownBy(() -> gang.run(3, task -> { }))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3 tasks for a gang of 2");
            }
        });
    }

    @Test
    void nestedAndConcurrentCallsRunOnTheirCallersInsteadOfWaiting() {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (WorkerGang gang = new WorkerGang(2, "test-gang")) {
                // a task that calls the gang again (on the caller and on the helper) neither deadlocks nor loses work
                AtomicLong inner = new AtomicLong();
                gang.run(2, outer -> gang.run(2, task -> inner.addAndGet(10 * outer + task + 1)));
                assertThat(inner.get()).isEqualTo(1 + 2 + 11 + 12);

                // four threads sharing the gang: each call's sum is complete
                int callers = 4, calls = 3000;
                CountDownLatch start = new CountDownLatch(1);
                AtomicLong wrong = new AtomicLong();
                Thread[] ts = new Thread[callers];
                for (int c = 0; c < callers; c++) {
                    ts[c] = new Thread(() -> {
                        try {
                            start.await();
                        } catch (InterruptedException e) {
                            return;
                        }
                        for (int i = 0; i < calls; i++) {
                            AtomicIntegerArray ran = new AtomicIntegerArray(2);
                            gang.run(2, ran::incrementAndGet);
                            if (ran.get(0) != 1 || ran.get(1) != 1) {
                                wrong.incrementAndGet();
                            }
                        }
                    });
                    ts[c].start();
                }
                start.countDown();
                for (Thread t : ts) {
                    t.join();
                }
                assertThat(wrong.get()).isZero();
            }
        });
    }

    @Test
    void closingEndsTheHelpersAndLaterCallsRunOnTheCaller() throws Exception {
        WorkerGang gang = new WorkerGang(3, "closing-gang");
        gang.run(3, task -> { });
        gang.close();
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            while (Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().startsWith("closing-gang-"))) {
                Thread.sleep(5);
            }
        });
        Set<String> threads = ConcurrentHashMap.newKeySet();
        gang.run(3, task -> threads.add(Thread.currentThread().getName()));
        assertThat(threads).containsExactly(Thread.currentThread().getName());
    }
}
