package io.qlorastream.schemas.junit;

import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.broker.junit.EmbeddedKafkaExtension;
import io.qlorastream.schemas.registry.SchemaRegistryClient;
import io.qlorastream.schemas.registry.server.EmbeddedSchemaRegistry;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives tests a real Confluent-compatible Schema Registry: {@code @ExtendWith(EmbeddedSchemaRegistryExtension.class)}
 * and a parameter of type {@link EmbeddedSchemaRegistry} (its {@code url()} is what serdes need as
 * {@code schema.registry.url}) or {@link SchemaRegistryClient} (a fresh client of it). For the broker itself add
 * {@link EmbeddedKafkaExtension} as usual (this extension does not resolve {@link EmbeddedKafkaBroker} parameters, so
 * the two never compete): {@code @ExtendWith({EmbeddedKafkaExtension.class, EmbeddedSchemaRegistryExtension.class})}.
 * One registry per test JVM, on a free port, its {@code _schemas} topic on the JVM's shared embedded broker
 * ({@link EmbeddedKafkaExtension#sharedBroker}); it stops when JUnit closes the root store, before the broker.
 * Other modules get it from the schemas test-jar (type test-jar, scope test) and also need
 * qlora-stream-embedded-broker at test scope.
 */
public final class EmbeddedSchemaRegistryExtension implements ParameterResolver {
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(EmbeddedSchemaRegistryExtension.class);

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        Class<?> type = parameterContext.getParameter().getType();
        return type == EmbeddedSchemaRegistry.class || type == SchemaRegistryClient.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        Class<?> type = parameterContext.getParameter().getType();
        EmbeddedSchemaRegistry registry = sharedRegistry(extensionContext);
        return type == SchemaRegistryClient.class ? SchemaRegistryClient.of(registry.url()) : registry;
    }

    /** The JVM's shared registry, started on first call (after the shared broker). */
    public static EmbeddedSchemaRegistry sharedRegistry(ExtensionContext context) {
        // The broker is stored first, so JUnit (closing in reverse order) stops the registry before it.
        EmbeddedKafkaBroker broker = EmbeddedKafkaExtension.sharedBroker(context);
        return context.getRoot().getStore(NAMESPACE)
                .getOrComputeIfAbsent("registry", key -> new SharedRegistry(EmbeddedSchemaRegistry.builder()
                        .bootstrapServers(broker.bootstrapServers()).port(0).build().start()), SharedRegistry.class)
                .registry;
    }

    /** The registry's URL, for configs: {@code schema.registry.url}. */
    public static String url(ExtensionContext context) {
        return sharedRegistry(context).url();
    }

    private record SharedRegistry(EmbeddedSchemaRegistry registry) implements ExtensionContext.Store.CloseableResource, AutoCloseable {
        @Override
        public void close() {
            registry.close();
        }
    }
}
