package dev.graft.cli;

import dev.graft.engine.backend.Availability;
import dev.graft.engine.backend.cuda.CudaDoctor;
import dev.graft.engine.backend.cuda.SmokeCheck;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code graft doctor}'s exit code from the backend check, the CUDA smoke checks and --require-cuda (no GPU needed). */
class DoctorVerdictTest {
    private static final Availability CUDA = Availability.yes("CUDA 13.0, 1 device (made up)");
    private static final Availability NO_CUDA = Availability.no("no NVIDIA driver (made up)");
    private static final double[] WANT = {1.0, -2.0, 0.5};

    private static CudaDoctor.Smoke smoke(float... conv) {
        return new CudaDoctor.Smoke("made-up GPU", List.of(SmokeCheck.compare("conv2d+relu", conv, WANT, 72, SmokeCheck.FP32),
                SmokeCheck.compare("gemm", new float[] {1, -2, 0.5f}, WANT, 72, SmokeCheck.FP32)), 1, "");
    }

    @Test
    void aSmokeResultWithinTheToleranceExitsZero() {
        DoctorCommand.Verdict v = DoctorCommand.verdict(true, true, CUDA, smoke(1.0f, Math.nextUp(-2.0f), 0.5f));
        assertEquals(0, v.exitCode(), v.message());
    }

    @Test
    void aSmokeResultBeyondTheToleranceExitsOneAndNamesTheCheck() {
        for (boolean require : new boolean[] {true, false}) {
            DoctorCommand.Verdict v = DoctorCommand.verdict(true, require, CUDA, smoke(1.0f, -2.01f, 0.5f));
            assertEquals(1, v.exitCode(), v.message());
            assertTrue(v.message().contains("beyond its tolerance: conv2d+relu"), v.message());
        }
    }

    @Test
    void aSmokeRunThatThrewExitsOne() {
        assertEquals(1, DoctorCommand.verdict(true, true, CUDA, null).exitCode());
    }

    @Test
    void requireCudaWithoutCudaExitsOneWithTheReason() {
        DoctorCommand.Verdict v = DoctorCommand.verdict(true, true, NO_CUDA, null);
        assertEquals(1, v.exitCode());
        assertTrue(v.message().contains("--require-cuda") && v.message().contains("no NVIDIA driver (made up)"), v.message());
        assertEquals(0, DoctorCommand.verdict(true, false, NO_CUDA, null).exitCode());
        assertEquals(1, DoctorCommand.verdict(false, false, NO_CUDA, null).exitCode(), "a disagreeing backend fails anyway");
    }
}
