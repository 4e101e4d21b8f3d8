package dev.graft.engine.backend.cuda;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The doctor's smoke run on a real GPU passes its own tolerance (skips with the reason where CUDA is unusable). */
@Tag("gpu")
class CudaDoctorSmokeTest {
    @Test
    void smokeRunMatchesTheReference() {
        CudaTesting.cuda();
        CudaDoctor.Smoke smoke = CudaDoctor.smoke();
        assertEquals(3, smoke.checks().size());
        for (SmokeCheck c : smoke.checks()) {
            assertTrue(c.passed(), c.describe());
        }
    }
}
