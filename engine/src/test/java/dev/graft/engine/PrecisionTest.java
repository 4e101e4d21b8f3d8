package dev.graft.engine;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PrecisionTest {
    @Test
    void parsesTheCommandLineNamesAndTorchSpellings() {
        assertEquals(Precision.FP32, Precision.parse("fp32"));
        assertEquals(Precision.FP32, Precision.parse("Float32"));
        assertEquals(Precision.BF16, Precision.parse(" bf16 "));
        assertEquals(Precision.BF16, Precision.parse("bfloat16"));
        assertEquals(Precision.INT8, Precision.parse("INT8"));
    }

    @Test
    void anUnknownNameListsTheChoices() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Precision.parse("fp16"));
        assertTrue(e.getMessage().contains("'fp16'") && e.getMessage().contains("fp32, bf16, int8"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Precision.parse(null));
    }
}
