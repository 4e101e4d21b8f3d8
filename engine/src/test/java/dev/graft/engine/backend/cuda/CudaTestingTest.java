package dev.graft.engine.backend.cuda;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Backends;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The gpu tests' comparison itself, on reference arrays (no GPU needed): it must catch what it claims to. */
class CudaTestingTest {
    private static final Backend REF = Backends.get(Device.REFERENCE);
    private Scope scope;

    @BeforeEach
    void open() {
        scope = Scope.open();
    }

    @AfterEach
    void close() {
        scope.close();
    }

    private static NDArray f32(double... v) {
        return REF.fromHost(v, Shape.of(v.length), DType.F32);
    }

    private static NDArray f64(double... v) {
        return REF.fromHost(v, Shape.of(v.length), DType.F64);
    }

    @Test
    void aNaNOnOneSideFailsEvenWhenALaterElementIsFinite() {
        // Before: the NaN error was replaced by the next element's finite error and the comparison passed.
        assertThrows(AssertionFailedError.class,
                () -> CudaTesting.assertNear("x", f32(Double.NaN, 1.0), f64(0.5, 1.0), 1e-3));
        assertThrows(AssertionFailedError.class,
                () -> CudaTesting.assertNear("x", f32(0.5, 1.0), f64(Double.NaN, 1.0), 1e-3));
    }

    @Test
    void nanMatchesNaNAndDoesNotSpoilTheScale() {
        assertDoesNotThrow(() -> CudaTesting.assertNear("x", f32(Double.NaN, 2.0), f64(Double.NaN, 2.0), 1e-6));
    }

    @Test
    void anErrorAboveTheToleranceFails() {
        // scale = max|ref| = 2, tolerance 1e-3 x 2 = 2e-3; 1.0 vs 1.01 is 1e-2 off.
        assertThrows(AssertionFailedError.class, () -> CudaTesting.assertNear("x", f32(1.01, 2.0), f64(1.0, 2.0), 1e-3));
        assertDoesNotThrow(() -> CudaTesting.assertNear("x", f32(1.001, 2.0), f64(1.0, 2.0), 1e-3));
    }
}
