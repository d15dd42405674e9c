package io.qlorastream.trainer;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.qlorastream.schemas.service.ServiceMeters;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;

import javax.management.InstanceAlreadyExistsException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Metrics of one trainer instance, on Micrometer's global registry (what {@code --metrics-port} serves to
 * Prometheus: {@code qlora_trainer_*} with tags {@code instance}, {@code adapter}, {@code partition}, plus the Kafka
 * clients' own metrics) and on JMX: {@code io.qlorastream:type=Trainer,instance=<id>} (dead letters,
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

    private final ServiceMeters meters = new ServiceMeters();
    private final MeterRegistry registry = meters.registry();
    private final Timer checkpointTime;
    private final Tags instanceTag;

    public TrainerMetrics(String instance) {
        this.instance = ObjectName.quote(instance);
        register("io.qlorastream:type=Trainer,instance=" + this.instance, new javax.management.StandardMBean(new Service(), ServiceMBean.class, false));
        instanceTag = Tags.of("instance", instance);
        meters.keep(FunctionCounter.builder("qlora.trainer.dead.letters", deadLetters, AtomicLong::get).tags(instanceTag)
                .description("Examples sent to the trainer's dead-letter topic").register(registry));
        meters.keep(FunctionCounter.builder("qlora.trainer.checkpoints", checkpoints, AtomicLong::get).tags(instanceTag)
                .description("Partition checkpoints written").register(registry));
        meters.keep(FunctionCounter.builder("qlora.trainer.snapshots", snapshots, AtomicLong::get).tags(instanceTag)
                .description("Adapter snapshots written").register(registry));
        meters.keep(FunctionCounter.builder("qlora.trainer.steps", steps, AtomicLong::get).tags(instanceTag)
                .description("Optimizer steps trained, all adapters").register(registry));
        meters.keep(Gauge.builder("qlora.trainer.assigned.partitions", this, m -> m.assigned).tags(instanceTag)
                .description("Partitions of the example topic this instance owns").strongReference(true).register(registry));
        checkpointTime = Timer.builder("qlora.trainer.checkpoint.duration").tags(instanceTag)
                .description("Time to write one partition checkpoint durably").register(registry);
        meters.keep(checkpointTime);
    }

    /** Binds the Kafka clients' own metrics (fetch rates, lag, request latencies...) for as long as this instance lives. */
    void bindClients(Consumer<?, ?> consumer, Producer<?, ?> producer) {
        meters.bindClients(consumer, producer, instanceTag);
    }

    void checkpointWritten(long nanos) {
        checkpoints.incrementAndGet();
        checkpointTime.record(nanos, TimeUnit.NANOSECONDS);
    }

    void snapshotWritten(String adapter, long nanos) {
        snapshots.incrementAndGet();
        meters.keep(Timer.builder("qlora.trainer.snapshot.duration").tags(instanceTag).tag("adapter", adapter)
                .description("Time to write one snapshot to the adapter store and announce it").register(registry))
                .record(nanos, TimeUnit.NANOSECONDS);
    }

    private void registerLaneMeters(AdapterView v, String adapter, int partition) {
        Tags tags = instanceTag.and("adapter", adapter, "partition", Integer.toString(partition));
        meters.keep(Gauge.builder("qlora.trainer.step", v, x -> x.step).tags(tags)
                .description("The lane's optimizer step").strongReference(true).register(registry));
        meters.keep(Gauge.builder("qlora.trainer.loss", v, x -> x.loss).tags(tags)
                .description("Training loss of the lane's last step (mean NLL per target token)").strongReference(true).register(registry));
        meters.keep(Gauge.builder("qlora.trainer.tokens.per.second", v, x -> x.tokensPerSecond).tags(tags)
                .description("Training throughput of the lane's last step").strongReference(true).register(registry));
        meters.keep(FunctionCounter.builder("qlora.trainer.examples.seen", v, x -> x.examplesSeen).tags(tags)
                .description("Examples trained on by the lane").register(registry));
        meters.keep(FunctionCounter.builder("qlora.trainer.tokens.seen", v, x -> x.tokensSeen).tags(tags)
                .description("Target tokens trained on by the lane").register(registry));
        meters.keep(Gauge.builder("qlora.trainer.consumer.lag", v, x -> x.lag).tags(tags).baseUnit("records")
                .description("Records of the lane's partition not yet read").strongReference(true).register(registry));
        meters.keep(Gauge.builder("qlora.trainer.pending.examples", v, x -> x.pending).tags(tags)
                .description("Examples read, waiting for a full batch").strongReference(true).register(registry));
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
            registerLaneMeters(view, l.adapter, l.partition);
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
        meters.close();
        try {
            for (ObjectName n : server.queryNames(new ObjectName("io.qlorastream:instance=" + instance + ",*"), null)) {
                server.unregisterMBean(n);
            }
        } catch (Exception ignored) {
            // beans of a closing instance: nothing left to report to
        }
    }
}
