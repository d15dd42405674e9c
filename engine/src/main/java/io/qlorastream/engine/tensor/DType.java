package io.qlorastream.engine.tensor;

/** Element types of safetensors files that qlora-stream reads and writes (little-endian, C order). */
public enum DType {
    F32(4, "F32", 11), F16(2, "F16", 7), BF16(2, "BF16", 8), U8(1, "U8", 1), I8(1, "I8", 2),
    I32(4, "I32", 9), I64(8, "I64", 13), BOOL(1, "BOOL", 0);

    private final int byteSize;
    private final String safetensorsName;
    /** Position in the reference implementation's (Rust safetensors) Dtype enum, which orders tensors on write. */
    private final int referenceOrder;

    DType(int byteSize, String safetensorsName, int referenceOrder) {
        this.byteSize = byteSize;
        this.safetensorsName = safetensorsName;
        this.referenceOrder = referenceOrder;
    }

    public int byteSize() {
        return byteSize;
    }

    /** The name in a safetensors header ("F32", "BF16", ...). */
    public String safetensorsName() {
        return safetensorsName;
    }

    /** Rank used by the reference writer to sort tensors: larger first (descending alignment), then by name. */
    public int referenceOrder() {
        return referenceOrder;
    }

    /** True for F32, F16 and BF16, the dtypes a {@link DenseMatrix} holds. */
    public boolean isFloat() {
        return this == F32 || this == F16 || this == BF16;
    }

    /** The dtype named {@code safetensorsName} in a header; an unsupported name is an IllegalArgumentException naming it. */
    public static DType parse(String safetensorsName) {
        for (DType t : values()) {
            if (t.safetensorsName.equals(safetensorsName)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unsupported dtype " + safetensorsName
                + " (supported: F32, F16, BF16, U8, I8, I32, I64, BOOL)");
    }

    /** torch's name of the dtype as Hugging Face configs write it ("bfloat16", "float16", "float32"). */
    public String torchName() {
        return switch (this) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            case U8 -> "uint8";
            case I8 -> "int8";
            case I32 -> "int32";
            case I64 -> "int64";
            case BOOL -> "bool";
        };
    }

    /** The dtype of a config's {@code torch_dtype} ("bfloat16", "float16", "float32"/"float"); null for others. */
    public static DType fromTorchName(String name) {
        if (name == null) {
            return null;
        }
        return switch (name) {
            case "bfloat16" -> BF16;
            case "float16", "half" -> F16;
            case "float32", "float" -> F32;
            default -> null;
        };
    }
}
