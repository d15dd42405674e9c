package io.qlorastream.engine.model;

import io.qlorastream.engine.safetensors.SafetensorsFile;
import io.qlorastream.engine.safetensors.SafetensorsWriter;
import io.qlorastream.engine.safetensors.TensorInfo;
import io.qlorastream.engine.tensor.DType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;

/** Test helper: rewrites (a subset of) a safetensors file, optionally overriding tensors, to build broken checkpoints. */
final class CheckpointCopy {
    private CheckpointCopy() {
    }

    /** A replacement tensor: dtype, shape and raw bytes. */
    record Replacement(DType dtype, long[] shape, byte[] bytes) {
    }

    static void copy(Path from, Path to, Predicate<String> keep, Function<String, Replacement> replace) throws IOException {
        try (SafetensorsFile in = SafetensorsFile.open(from)) {
            List<SafetensorsWriter.Entry> entries = new ArrayList<>();
            Map<String, Replacement> replaced = new LinkedHashMap<>();
            for (String n : in.names()) {
                if (!keep.test(n)) {
                    continue;
                }
                Replacement r = replace.apply(n);
                TensorInfo t = in.info(n);
                if (r != null) {
                    replaced.put(n, r);
                    entries.add(new SafetensorsWriter.Entry(n, r.dtype(), r.shape()));
                } else {
                    entries.add(new SafetensorsWriter.Entry(n, t.dtype(), t.shape()));
                }
            }
            try (SafetensorsWriter out = SafetensorsWriter.create(to, entries, in.metadata())) {
                for (SafetensorsWriter.Entry e : entries) {
                    Replacement r = replaced.get(e.name());
                    out.write(e.name(), 0, r != null ? ByteBuffer.wrap(r.bytes()) : ByteBuffer.wrap(in.readBytes(e.name())));
                }
            }
        }
    }
}
