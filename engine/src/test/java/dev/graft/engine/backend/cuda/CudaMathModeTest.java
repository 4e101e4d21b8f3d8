package dev.graft.engine.backend.cuda;

import dev.graft.engine.DType;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Conv2dSpec;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.graft.engine.backend.cuda.CudaTesting.assertNear;
import static dev.graft.engine.backend.cuda.CudaTesting.pair;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Fast mode (TF32 allowed) stays within TF32's accuracy: relative to the output's scale, 1e-2 (TF32 rounds inputs
 * to 10 mantissa bits, 2^-11 relative each; sums of random-sign products keep that order).
 */
@Tag("gpu")
class CudaMathModeTest {

    @Test
    void fastModeIsWithinTf32Accuracy() throws Exception {
        CudaBackend exact = CudaTesting.cuda();
        Backend ref = CudaTesting.ref();
        try (CudaBackend fast = CudaBackend.open(CudaProbe.run(), 0, MathMode.FAST)) {
            assertEquals(MathMode.FAST, fast.mathMode());
            Random r = new Random(41);
            try (Scope s = Scope.open()) {
                float[] xv = CudaTesting.uniform(r, 8 * 64 * 28 * 28);
                float[] wv = CudaTesting.uniform(r, 64 * 64 * 3 * 3);
                NDArray[] x = pair(exact, xv, 8, 64, 28, 28);
                NDArray[] w = pair(exact, wv, 64, 64, 3, 3);
                Conv2dSpec spec = Conv2dSpec.of(1, 1);
                NDArray want = ref.conv2d(x[1], w[1], null, spec);
                NDArray xf = fast.fromHost(xv, x[1].shape());
                NDArray wf = fast.fromHost(wv, w[1].shape());
                assertNear("fast conv2d", fast.conv2d(xf, wf, null, spec), want, 1e-2);
                Shape ms = Shape.of(64, 576);
                NDArray wm = fast.fromHost(wv, ms);
                NDArray wmRef = ref.fromHost(CudaTesting.doubles(wv), ms, DType.F64);
                assertNear("fast gemm w w^T", fast.gemm(wm, wm, false, true), ref.gemm(wmRef, wmRef, false, true), 1e-2);
                assertNear("exact conv2d", exact.conv2d(x[0], w[0], null, spec), want, CudaTesting.tol(576));
            }
        }
    }
}
