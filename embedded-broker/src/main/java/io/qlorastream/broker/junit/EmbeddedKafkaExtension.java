package io.qlorastream.broker.junit;

import io.qlorastream.broker.EmbeddedKafkaBroker;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives tests a real Kafka broker: {@code @ExtendWith(EmbeddedKafkaExtension.class)} and a parameter of type
 * {@link EmbeddedKafkaBroker} (constructor, lifecycle or test method). One broker serves the whole test JVM: it
 * starts on first use (about a second) and stops when JUnit closes its root store at the end of the run.
 * Tests share it, so each test uses its own topic names.
 */
public final class EmbeddedKafkaExtension implements ParameterResolver {
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(EmbeddedKafkaExtension.class);

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == EmbeddedKafkaBroker.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return sharedBroker(extensionContext);
    }

    /** The JVM's shared broker, started on first call. */
    public static EmbeddedKafkaBroker sharedBroker(ExtensionContext context) {
        return context.getRoot().getStore(NAMESPACE)
                .getOrComputeIfAbsent("broker", key -> new SharedBroker(EmbeddedKafkaBroker.builder().build().start()),
                        SharedBroker.class)
                .broker;
    }

    /** Closed by JUnit when the root context closes, after every test class of the run. */
    private record SharedBroker(EmbeddedKafkaBroker broker) implements ExtensionContext.Store.CloseableResource {
        @Override
        public void close() {
            broker.close();
        }
    }
}
