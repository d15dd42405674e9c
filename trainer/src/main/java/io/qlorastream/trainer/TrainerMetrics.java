package io.qlorastream.trainer;

import javax.management.InstanceAlreadyExistsException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * JMX metrics of one trainer instance: {@code io.qlorastream:type=Trainer,instance=<id>} (dead letters,
 * checkpoints, snapshots, assigned partitions) and per adapter lane
 * {@code io.qlorastream:type=TrainerAdapter,instance=<id>,adapter=<name>,partition=<p>} (step, loss, tokens/s,
 * examples and tokens seen, consumer lag). Any JMX client (jconsole, a Prometheus JMX exporter) reads them.
 */
public final class TrainerMetrics implements AutoCloseable {

    public interface ServiceMBean {
        long getDeadLetters();

        long getCheckpoints();

        long getSnapshots();

        long getStepsTrained();

        int getAssignedPartitions();
    }

    public interface AdapterMBean {
        long getStep();

        double getLoss();

        double getTokensPerSecond();

        long getExamplesSeen();

        long getTokensSeen();

        long getConsumerLag();

        long getPendingExamples();
    }

    final AtomicLong deadLetters = new AtomicLong();
    final AtomicLong checkpoints = new AtomicLong();
    final AtomicLong snapshots = new AtomicLong();
    final AtomicLong steps = new AtomicLong();
    volatile int assigned;
    private final Map<String, AdapterView> adapters = new ConcurrentHashMap<>();
    private final String instance;
    private final MBeanServer server = ManagementFactory.getPlatformMBeanServer();

    final class Service implements ServiceMBean {
        public long getDeadLetters() { return deadLetters.get(); }
        public long getCheckpoints() { return checkpoints.get(); }
        public long getSnapshots() { return snapshots.get(); }
        public long getStepsTrained() { return steps.get(); }
        public int getAssignedPartitions() { return assigned; }
    }

    /** Values published by the training thread, read by JMX threads. */
    static final class AdapterView implements AdapterMBean {
        volatile long step, examplesSeen, tokensSeen, lag, pending;
        volatile double loss = Double.NaN, tokensPerSecond;
        public long getStep() { return step; }
        public double getLoss() { return loss; }
        public double getTokensPerSecond() { return tokensPerSecond; }
        public long getExamplesSeen() { return examplesSeen; }
        public long getTokensSeen() { return tokensSeen; }
        public long getConsumerLag() { return lag; }
        public long getPendingExamples() { return pending; }
    }

    public TrainerMetrics(String instance) {
        this.instance = ObjectName.quote(instance);
        register("io.qlorastream:type=Trainer,instance=" + this.instance, new javax.management.StandardMBean(new Service(), ServiceMBean.class, false));
    }

    public String instance() {
        return instance;
    }

    void update(AdapterLane l, long lag) {
        String key = l.adapter + "\u0000" + l.partition;
        AdapterView v = adapters.computeIfAbsent(key, k -> {
            AdapterView view = new AdapterView();
            register("io.qlorastream:type=TrainerAdapter,instance=" + instance + ",adapter=" + ObjectName.quote(l.adapter)
                    + ",partition=" + l.partition, standard(view));
            return view;
        });
        v.step = l.step();
        v.loss = l.lastLoss;
        v.tokensPerSecond = l.tokensPerSecond();
        v.examplesSeen = l.examplesSeen;
        v.tokensSeen = l.tokensSeen;
        v.lag = lag;
        v.pending = l.pending.size();
    }

    private static javax.management.StandardMBean standard(AdapterView view) {
        try {
            return new javax.management.StandardMBean(view, AdapterMBean.class, false);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private void register(String name, Object bean) {
        try {
            server.registerMBean(bean, new ObjectName(name));
        } catch (InstanceAlreadyExistsException e) {
            // a restarted lane of the same adapter keeps the bean it had
        } catch (Exception e) {
            throw new IllegalStateException("cannot register JMX bean " + name + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            for (ObjectName n : server.queryNames(new ObjectName("io.qlorastream:instance=" + instance + ",*"), null)) {
                server.unregisterMBean(n);
            }
        } catch (Exception ignored) {
            // beans of a closing instance: nothing left to report to
        }
    }
}
