package dev.graft.loaders.internal;

import dev.graft.engine.DType;

/**
 * Element types as files store them, with what each widens to on load: float16 and bfloat16 to F32, every
 * integer and bool type to I64 (HostTensor holds only F32, F64 and I64). The names are the file formats' own:
 * PyTorch's dtype name, safetensors' dtype string and NumPy's type code without byte order.
 */
public enum ElementType {
    F16(2, "float16", "F16", "f2", DType.F32),
    BF16(2, "bfloat16", "BF16", null, DType.F32),
    F32(4, "float32", "F32", "f4", DType.F32),
    F64(8, "float64", "F64", "f8", DType.F64),
    I8(1, "int8", "I8", "i1", DType.I64),
    U8(1, "uint8", "U8", "u1", DType.I64),
    I16(2, "int16", "I16", "i2", DType.I64),
    I32(4, "int32", "I32", "i4", DType.I64),
    I64(8, "int64", "I64", "i8", DType.I64),
    BOOL(1, "bool", "BOOL", "b1", DType.I64);

    private final int bytes;
    private final String torchName;
    private final String safetensorsName;
    private final String npyCode;
    private final DType target;

    ElementType(int bytes, String torchName, String safetensorsName, String npyCode, DType target) {
        this.bytes = bytes;
        this.torchName = torchName;
        this.safetensorsName = safetensorsName;
        this.npyCode = npyCode;
        this.target = target;
    }

    public int bytes() {
        return bytes;
    }

    public String torchName() {
        return torchName;
    }

    public String safetensorsName() {
        return safetensorsName;
    }

    /** The dtype a loaded tensor of this element type has. */
    public DType target() {
        return target;
    }

    public static ElementType of(DType dtype) {
        return switch (dtype) {
            case F32 -> F32;
            case F64 -> F64;
            case I64 -> I64;
        };
    }

    /** By safetensors dtype string ("F32", "BF16", ...), or null. */
    public static ElementType ofSafetensors(String name) {
        for (ElementType t : values()) {
            if (t.safetensorsName.equals(name)) {
                return t;
            }
        }
        return null;
    }

    /** By NumPy type code without byte order ("f4", "u1", ...), or null. */
    public static ElementType ofNpy(String code) {
        for (ElementType t : values()) {
            if (code.equals(t.npyCode)) {
                return t;
            }
        }
        return null;
    }

    public String npyCode() {
        return npyCode;
    }
}
