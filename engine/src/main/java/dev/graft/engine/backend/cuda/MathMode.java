package dev.graft.engine.backend.cuda;

import dev.graft.engine.GraftException;

import java.util.Locale;

import static org.bytedeco.cuda.global.cublas.CUBLAS_DEFAULT_MATH;
import static org.bytedeco.cuda.global.cublas.CUBLAS_TF32_TENSOR_OP_MATH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_FMA_MATH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_TENSOR_OP_MATH;

/**
 * How FP32 matrix work may round. {@link #EXACT} (the default) keeps true FP32 products: cuDNN convolutions run
 * with {@code CUDNN_FMA_MATH} and cuBLAS with {@code CUBLAS_DEFAULT_MATH}, which for SGEMM never uses TF32.
 * {@link #FAST} lets both use TF32 tensor cores on Ampere and newer GPUs (10-bit mantissa products, FP32
 * accumulation; relative errors around 1e-3, as {@code torch.backends.cudnn.allow_tf32 = True}).
 *
 * <p>Chosen by the system property {@value #PROPERTY} or else the environment variable {@value #ENV}:
 * {@code exact} (also {@code fp32}) or {@code fast} (also {@code tf32}).
 */
public enum MathMode {
    EXACT,
    FAST;

    public static final String PROPERTY = "graft.cuda.math";
    public static final String ENV = "GRAFT_CUDA_MATH";

    /** The mode the property or the environment asks for; EXACT when neither is set. */
    public static MathMode configured() {
        String v = System.getProperty(PROPERTY);
        String from = "-D" + PROPERTY;
        if (v == null || v.isBlank()) {
            v = System.getenv(ENV);
            from = ENV;
        }
        return v == null || v.isBlank() ? EXACT : parse(v, from);
    }

    static MathMode parse(String value, String from) {
        switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "exact", "fp32":
                return EXACT;
            case "fast", "tf32":
                return FAST;
            default:
                throw new GraftException(from + "=" + value + " is not a math mode: use exact (FP32, the default) or fast (TF32 allowed)");
        }
    }

    /**
     * The math type a convolution descriptor gets before the algorithm query: FMA_MATH restricts cuDNN to
     * FMA (non tensor-core) kernels; TENSOR_OP_MATH allows TF32. (Compile-time constants: no class loading.)
     */
    int cudnnMathType() {
        return this == EXACT ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH;
    }

    /** The cuBLAS math mode: DEFAULT never turns SGEMM into TF32; TF32_TENSOR_OP allows it. */
    int cublasMathMode() {
        return this == EXACT ? CUBLAS_DEFAULT_MATH : CUBLAS_TF32_TENSOR_OP_MATH;
    }

    @Override
    public String toString() {
        return this == EXACT ? "exact (FP32, no TF32)" : "fast (TF32 allowed)";
    }
}
