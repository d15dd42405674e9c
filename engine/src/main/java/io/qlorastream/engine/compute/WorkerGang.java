package io.qlorastream.engine.compute;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * Fork-join for the CPU backend's many short parallel calls: the calling thread runs task 0 and {@code size − 1} helper
 * threads run the others. Helpers spin for a short while after each call before they park, so the next call (usually
 * microseconds later) reaches them without a wake-up.
 * <p>
 * Written by hand because a training step makes about 5,000 parallel calls (products, staging copies, softmaxes,
 * norms), many of them well under a millisecond: through a {@code ThreadPoolExecutor} with futures a two-thread call
 * of empty tasks cost about 35 µs on the development machine (every thread parked and woken each time), with this gang
 * about 1 µs; {@code bench train} on the base model at seq 512 went from 2.38 to 2.14 s a step. OpenMP runtimes and
 * BLAS libraries spin-wait their workers for the same reason. Spinning is bounded ({@link #SPIN_NANOS}), so an idle
 * backend costs no CPU.
 * <p>
 * Results never depend on which thread runs a task: a call from a helper (nested) or while another thread's call is in
 * flight runs its tasks one after the other on the calling thread instead.
 */
final class WorkerGang implements AutoCloseable {
    /** How long an idle thread spins before it parks: longer than the gap between a step's calls, far under a step. */
    private static final long SPIN_NANOS = 200_000;

    private final Thread[] helpers;
    private final AtomicIntegerArray helperParked;
    private final ReentrantLock dispatch = new ReentrantLock();
    /** The latest call; a helper runs its task of every generation it has not seen yet. */
    private volatile Work work = new Work(0, null, 0);
    private volatile Thread waitingCaller;
    private volatile boolean closed;

    /** One call, published whole through one volatile field so that a helper never mixes two calls' fields. */
    private static final class Work {
        final long generation;
        final IntConsumer body;
        final int count;
        final AtomicInteger pending;
        volatile Throwable failure;

        Work(long generation, IntConsumer body, int count) {
            this.generation = generation;
            this.body = body;
            this.count = count;
            this.pending = new AtomicInteger(Math.max(0, count - 1));
        }
    }

    WorkerGang(int size, String name) {
        if (size < 1) {
            throw new IllegalArgumentException("a gang needs at least one thread, got " + size);
        }
        helpers = new Thread[size - 1];
        helperParked = new AtomicIntegerArray(Math.max(1, size - 1));
        for (int i = 0; i < helpers.length; i++) {
            final int index = i;
            Thread t = new Thread(() -> helperLoop(index), name + "-" + (i + 1));
            t.setDaemon(true);
            helpers[i] = t;
        }
        for (Thread t : helpers) {
            t.start();
        }
    }

    int size() {
        return helpers.length + 1;
    }

    /** Runs {@code body.accept(task)} for task in [0, count), count at most {@link #size()}, and returns when all are done. */
    void run(int count, IntConsumer body) {
        if (count > size()) {
            throw new IllegalArgumentException(count + " tasks for a gang of " + size());
        }
        if (count <= 1 || closed || isHelper(Thread.currentThread()) || dispatch.isHeldByCurrentThread() || !dispatch.tryLock()) {
            for (int t = 0; t < count; t++) {
                body.accept(t);
            }
            return;
        }
        try {
            Work w = new Work(work.generation + 1, body, count);
            work = w;
            for (int i = 0; i < count - 1; i++) {
                if (helperParked.get(i) == 1) {
                    LockSupport.unpark(helpers[i]);
                }
            }
            Throwable t = null;
            try {
                body.accept(0);
            } catch (Throwable e) {
                t = e;
            }
            awaitHelpers(w);
            if (t == null) {
                t = w.failure;
            }
            if (t instanceof RuntimeException re) {
                throw re;
            }
            if (t instanceof Error err) {
                throw err;
            }
            if (t != null) {
                throw new IllegalStateException(t);
            }
        } finally {
            dispatch.unlock();
        }
    }

    private void awaitHelpers(Work w) {
        long spinUntil = System.nanoTime() + SPIN_NANOS;
        while (w.pending.get() > 0) {
            if (System.nanoTime() < spinUntil) {
                Thread.onSpinWait();
                continue;
            }
            waitingCaller = Thread.currentThread();
            if (w.pending.get() > 0) {
                LockSupport.parkNanos(this, 1_000_000);
            }
            waitingCaller = null;
        }
    }

    private boolean isHelper(Thread t) {
        for (Thread h : helpers) {
            if (h == t) {
                return true;
            }
        }
        return false;
    }

    private void helperLoop(int index) {
        long seen = 0;
        while (true) {
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            Work w;
            while ((w = work).generation == seen && !closed) {
                if (System.nanoTime() < spinUntil) {
                    Thread.onSpinWait();
                    continue;
                }
                helperParked.set(index, 1);
                if (work.generation == seen && !closed) {
                    LockSupport.park(this);
                }
                helperParked.set(index, 0);
            }
            if (w.generation == seen) {
                return; // closed, and no call is waiting for this helper (one published before close still runs)
            }
            seen = w.generation;
            if (index + 1 < w.count) {
                try {
                    w.body.accept(index + 1);
                } catch (Throwable e) {
                    w.failure = e;
                }
                if (w.pending.decrementAndGet() == 0) {
                    Thread caller = waitingCaller;
                    if (caller != null) {
                        LockSupport.unpark(caller);
                    }
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread t : helpers) {
            LockSupport.unpark(t);
        }
    }
}
