package dev.graft.engine;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The arithmetic a run asks for, as {@code --precision} spells it. {@link #FP32} is the default and what every
 * backend computes in. {@link #BF16} is mixed precision (bfloat16 products, fp32 accumulation, master weights,
 * optimizer state and reductions, as PyTorch's CPU autocast); {@link #INT8} is quantized inference only. Whether
 * a backend and this CPU run a precision is the backend's to say; this type only names them.
 */
public enum Precision {
    FP32("fp32"),
    BF16("bf16"),
    INT8("int8");

    private final String cliName;

    Precision(String cliName) {
        this.cliName = cliName;
    }

    /** The name on the command line and in model files: {@code fp32}, {@code bf16}, {@code int8}. */
    public String cliName() {
        return cliName;
    }

    /**
     * The precision named {@code text} (case-insensitive; {@code float32}/{@code bfloat16} accepted as torch spells
     * them). Throws an IllegalArgumentException listing the names when there is none.
     */
    public static Precision parse(String text) {
        String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        switch (t) {
            case "float32", "f32" -> t = "fp32";
            case "bfloat16" -> t = "bf16";
            default -> { }
        }
        for (Precision p : values()) {
            if (p.cliName.equals(t)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown precision '" + text + "'; expected one of "
                + Arrays.stream(values()).map(Precision::cliName).collect(Collectors.joining(", ")));
    }

    @Override
    public String toString() {
        return cliName;
    }
}
