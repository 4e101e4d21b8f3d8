package dev.graft.engine.backend.cuda;

import dev.graft.engine.GraftException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MathModeTest {

    @Test
    void parsesTheDocumentedNames() {
        assertEquals(MathMode.EXACT, MathMode.parse("exact", "p"));
        assertEquals(MathMode.EXACT, MathMode.parse(" FP32 ", "p"));
        assertEquals(MathMode.FAST, MathMode.parse("fast", "p"));
        assertEquals(MathMode.FAST, MathMode.parse("tf32", "p"));
    }

    @Test
    void aBadValueNamesWhereItCameFromAndTheChoices() {
        GraftException e = assertThrows(GraftException.class, () -> MathMode.parse("fp16", "-Dgraft.cuda.math"));
        assertTrue(e.getMessage().contains("-Dgraft.cuda.math=fp16"), e.getMessage());
        assertTrue(e.getMessage().contains("exact") && e.getMessage().contains("fast"), e.getMessage());
    }

    @Test
    void thePropertyWinsAndExactIsTheDefault() {
        String old = System.getProperty(MathMode.PROPERTY);
        try {
            System.setProperty(MathMode.PROPERTY, "fast");
            assertEquals(MathMode.FAST, MathMode.configured());
            System.clearProperty(MathMode.PROPERTY);
            if (System.getenv(MathMode.ENV) == null) {
                assertEquals(MathMode.EXACT, MathMode.configured());
            }
        } finally {
            if (old == null) {
                System.clearProperty(MathMode.PROPERTY);
            } else {
                System.setProperty(MathMode.PROPERTY, old);
            }
        }
    }

    @Test
    void exactModeKeepsTensorCoresOut() {
        assertEquals(3, MathMode.EXACT.cudnnMathType(), "CUDNN_FMA_MATH");
        assertEquals(0, MathMode.EXACT.cublasMathMode(), "CUBLAS_DEFAULT_MATH (no TF32 for SGEMM)");
        assertEquals(1, MathMode.FAST.cudnnMathType(), "CUDNN_TENSOR_OP_MATH");
        assertEquals(3, MathMode.FAST.cublasMathMode(), "CUBLAS_TF32_TENSOR_OP_MATH");
    }
}
