package io.qlorastream.ingest;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Tags;

import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.DynamicMBean;
import javax.management.InstanceAlreadyExistsException;
import javax.management.JMException;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Ingest's own counters, one set per application id, shared by the topology's processors and the dead-letter
 * handlers (which Kafka Streams instantiates by class name, so they find the set through {@link #of}). Visible over
 * JMX as {@code io.qlorastream:type=ingest,application=<id>} (one long attribute per counter) next to Kafka Streams'
 * own metrics, and printed by the ingest command. Counter names: {@code records_in.<source>},
 * {@code dead_letters.<deserialization|invalid|processing>}, {@code filtered.<reason>} (whole inputs),
 * {@code inputs_with_examples}, {@code examples_filtered.<reason>} (single examples of an input that gave others),
 * {@code examples.<train|eval>}, {@code redactions.<TYPE>}.
 *
 * <p>What they count: records <em>processed by this process</em> since it started, not records committed. The
 * output topics are exactly-once, the counters are not: after a crash or a lost task (no clean close) the open
 * transaction is aborted and its records are processed, and counted, again, by this process or another one; a
 * restarted process starts from zero. So a counter may exceed the committed output by up to one commit interval's
 * records per crash, and totals across processes are sums of per-process counts. Committed truth is in the topics
 * (read_committed) and the application's committed offsets. After clean closes (as in {@code IngestOnBrokerTest})
 * every input is counted exactly once.
 */
public final class IngestMetrics {
    private static final ConcurrentMap<String, IngestMetrics> BY_APPLICATION = new ConcurrentHashMap<>();

    private final String applicationId;
    private final ConcurrentMap<String, LongAdder> counters = new ConcurrentHashMap<>();

    private IngestMetrics(String applicationId) {
        this.applicationId = applicationId;
    }

    /** The counters of one application id in this JVM, created (and put on JMX) on first use. */
    public static IngestMetrics of(String applicationId) {
        return BY_APPLICATION.computeIfAbsent(applicationId, id -> {
            IngestMetrics m = new IngestMetrics(id);
            m.registerMBean();
            return m;
        });
    }

    /** Sets every counter of this application back to zero (a fresh run in the same JVM). */
    public void reset() {
        counters.values().forEach(LongAdder::reset);
    }

    public void increment(String name) {
        add(name, 1);
    }

    public void add(String name, long n) {
        counter(name).add(n);
    }

    /** The counter {@code name} itself, created on first use: for a caller that adds to it on every record. */
    LongAdder counter(String name) {
        return counters.computeIfAbsent(name, this::newCounter);
    }

    /** A counter, also published on Micrometer's global registry under its Prometheus-style name. */
    private LongAdder newCounter(String name) {
        LongAdder adder = new LongAdder();
        MeterName meter = MeterName.of(name);
        FunctionCounter.builder(meter.name, adder, LongAdder::sum)
                .tags(meter.tags).tag("application", applicationId)
                .description(meter.description)
                .register(Metrics.globalRegistry);
        return adder;
    }

    /**
     * The Micrometer name and tags of a counter name: {@code filtered.bot} → {@code qlora.ingest.filtered{reason=bot}},
     * which Prometheus scrapes as {@code qlora_ingest_filtered_total{reason="bot"}}.
     */
    record MeterName(String name, Tags tags, String description) {
        static MeterName of(String counter) {
            int dot = counter.indexOf('.');
            String head = dot < 0 ? counter : counter.substring(0, dot);
            String rest = dot < 0 ? "" : counter.substring(dot + 1);
            return switch (head) {
                case "records_in" -> new MeterName("qlora.ingest.events.in", Tags.of("source", rest), "Input events read, by source topic");
                case "dead_letters" -> new MeterName("qlora.ingest.dead.letters", Tags.of("reason", rest), "Input events sent to the dead-letter topic, by kind of failure");
                case "filtered" -> new MeterName("qlora.ingest.filtered", Tags.of("reason", rest), "Input events filtered out as a whole, by reason");
                case "examples_filtered" -> new MeterName("qlora.ingest.examples.filtered", Tags.of("reason", rest), "Single examples filtered out of inputs that gave others, by reason");
                case "examples" -> new MeterName("qlora.ingest.examples", Tags.of("split", rest), "Examples written, by split");
                case "redactions" -> new MeterName("qlora.ingest.redactions", Tags.of("type", rest), "Values redacted, by type");
                case "inputs_with_examples" -> new MeterName("qlora.ingest.inputs.with.examples", Tags.empty(), "Input events that gave at least one example");
                default -> new MeterName("qlora.ingest." + counter.replace('_', '.'), Tags.empty(), "Ingest counter " + counter);
            };
        }
    }

    public long get(String name) {
        LongAdder a = counters.get(name);
        return a == null ? 0 : a.sum();
    }

    /** Sum of every counter whose name starts with {@code prefix} ("filtered." → all filter reasons). */
    public long sum(String prefix) {
        long s = 0;
        for (Map.Entry<String, LongAdder> e : counters.entrySet()) {
            if (e.getKey().startsWith(prefix)) {
                s += e.getValue().sum();
            }
        }
        return s;
    }

    /** A sorted copy of every counter. */
    public Map<String, Long> snapshot() {
        Map<String, Long> m = new TreeMap<>();
        counters.forEach((k, v) -> m.put(k, v.sum()));
        return m;
    }

    /** Inputs accounted for: those that gave examples, were filtered as a whole, or became dead letters. */
    public long inputsAccounted() {
        return get("inputs_with_examples") + sum("filtered.") + sum("dead_letters.");
    }

    public String applicationId() {
        return applicationId;
    }

    private void registerMBean() {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        try {
            server.registerMBean(new CountersMBean(), new ObjectName("io.qlorastream:type=ingest,application=" + ObjectName.quote(applicationId)));
        } catch (InstanceAlreadyExistsException e) {
            // registered by an earlier instance in this JVM; counters stay reachable through of()
        } catch (JMException e) {
            throw new IllegalStateException("cannot register ingest metrics on JMX: " + e.getMessage(), e);
        }
    }

    /** The counters as read-only JMX attributes, listed as they exist at the time of asking. */
    private final class CountersMBean implements DynamicMBean {
        @Override
        public Object getAttribute(String attribute) {
            return get(attribute);
        }

        @Override
        public void setAttribute(Attribute attribute) {
            throw new UnsupportedOperationException("ingest metrics are read-only");
        }

        @Override
        public AttributeList getAttributes(String[] attributes) {
            AttributeList list = new AttributeList();
            for (String a : attributes) {
                list.add(new Attribute(a, get(a)));
            }
            return list;
        }

        @Override
        public AttributeList setAttributes(AttributeList attributes) {
            return new AttributeList();
        }

        @Override
        public Object invoke(String actionName, Object[] params, String[] signature) {
            throw new UnsupportedOperationException(actionName);
        }

        @Override
        public MBeanInfo getMBeanInfo() {
            MBeanAttributeInfo[] attrs = snapshot().keySet().stream()
                    .map(k -> new MBeanAttributeInfo(k, "long", "ingest counter " + k, true, false, false))
                    .toArray(MBeanAttributeInfo[]::new);
            return new MBeanInfo(IngestMetrics.class.getName(), "qlora-stream ingest counters of " + applicationId,
                    attrs, null, null, null);
        }
    }
}
