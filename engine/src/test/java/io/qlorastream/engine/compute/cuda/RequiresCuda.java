package io.qlorastream.engine.compute.cuda;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Runs a test class only where {@link CudaProbe} finds a usable GPU; elsewhere (CI, every developer machine) its
 * tests are reported skipped with the probe's one-line reason, e.g. "no CUDA GPU: the CUDA libraries did not load
 * (libcuda.so.1: cannot open shared object file: No such file or directory)".
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(RequiresCuda.Condition.class)
public @interface RequiresCuda {

    final class Condition implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            CudaProbe.Result gpu = CudaProbe.probe();
            return gpu.available()
                    ? ConditionEvaluationResult.enabled(gpu.reason())
                    : ConditionEvaluationResult.disabled("no CUDA GPU: " + gpu.reason());
        }
    }
}
