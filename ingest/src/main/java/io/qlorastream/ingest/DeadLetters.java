package io.qlorastream.ingest;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.LogAndContinueExceptionHandler;
import org.apache.kafka.streams.errors.LogAndContinueProcessingExceptionHandler;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.processor.api.Record;

import java.util.Map;

/**
 * Kafka Streams' own dead-letter support (KIP-1034) with counting: records that fail to deserialize, fail
 * validation ({@link InvalidEventException}) or fail any later step go to {@code errors.dead.letter.queue.topic.name}
 * with their original key and value bytes and the {@code __streams.errors.*} headers (exception, message,
 * stacktrace, topic, partition, offset), built by the stock log-and-continue handlers; these subclasses only count
 * them in {@link IngestMetrics} so that no record is dropped without a trace.
 */
public final class DeadLetters {
    private DeadLetters() {
    }

    public static final class Deserialization extends LogAndContinueExceptionHandler {
        private IngestMetrics metrics;

        @Override
        public void configure(Map<String, ?> configs) {
            super.configure(configs);
            metrics = IngestMetrics.of(String.valueOf(configs.get(StreamsConfig.APPLICATION_ID_CONFIG)));
        }

        @Override
        public DeserializationExceptionHandler.Response handleError(ErrorHandlerContext context, ConsumerRecord<byte[], byte[]> record, Exception exception) {
            DeserializationExceptionHandler.Response r = super.handleError(context, record, exception);
            metrics.increment("dead_letters.deserialization");
            return r;
        }
    }

    public static final class Processing extends LogAndContinueProcessingExceptionHandler {
        private IngestMetrics metrics;

        @Override
        public void configure(Map<String, ?> configs) {
            super.configure(configs);
            metrics = IngestMetrics.of(String.valueOf(configs.get(StreamsConfig.APPLICATION_ID_CONFIG)));
        }

        @Override
        public ProcessingExceptionHandler.Response handleError(ErrorHandlerContext context, Record<?, ?> record, Exception exception) {
            ProcessingExceptionHandler.Response r = super.handleError(context, record, exception);
            metrics.increment(exception instanceof InvalidEventException ? "dead_letters.invalid" : "dead_letters.processing");
            return r;
        }
    }
}
