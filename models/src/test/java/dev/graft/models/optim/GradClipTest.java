package dev.graft.models.optim;

import dev.graft.engine.Scope;
import dev.graft.models.Linear;
import dev.graft.models.Parameter;
import org.junit.jupiter.api.Test;

import static dev.graft.models.optim.OptimizerTestSupport.backward;
import static dev.graft.models.optim.OptimizerTestSupport.grad;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class GradClipTest {

    private static double norm(Linear l) {
        double s = 0;
        for (Parameter p : l.parameters()) {
            for (double g : grad(p)) {
                s += g * g;
            }
        }
        return Math.sqrt(s);
    }

    @Test
    void scalesToTheMaxNormAndReturnsTheNormBefore() {
        try (Scope s = Scope.open()) {
            Linear l = OptimizerTestSupport.linear();
            backward(l);
            double before = norm(l);
            double[] w = grad(l.weight());
            assertEquals(before, GradClip.clipGradNorm(l.parameters(), before / 4), 1e-12);
            assertEquals(before / 4, norm(l), 1e-6 * before);
            double coef = (before / 4) / (before + 1e-6);
            for (int i = 0; i < w.length; i++) {
                assertEquals(w[i] * coef, grad(l.weight())[i], 1e-15);
            }
        }
    }

    @Test
    void leavesSmallGradientsAlone() {
        try (Scope s = Scope.open()) {
            Linear l = OptimizerTestSupport.linear();
            backward(l);
            double[] w = grad(l.weight());
            GradClip.clipGradNorm(l.parameters(), 1e9);
            assertArrayEquals(w, grad(l.weight()), 0);
            l.freeze("bias");
            assertEquals(Math.sqrt(java.util.Arrays.stream(w).map(x -> x * x).sum()), GradClip.globalNorm(l.parameters()), 1e-12);
            assertThrows(OptimizerException.class, () -> GradClip.clipGradNorm(l.parameters(), 0));
        }
    }
}
