package dev.graft.models.optim;

import dev.graft.engine.Scope;
import dev.graft.models.Linear;
import dev.graft.models.Parameter;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static dev.graft.models.optim.OptimizerTestSupport.backward;
import static dev.graft.models.optim.OptimizerTestSupport.grad;
import static dev.graft.models.optim.OptimizerTestSupport.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** AdamW against torch.optim.AdamW's update written out in the test (F64, tolerance 1e-14 absolute). */
class AdamWTest {

    /** torch.optim.AdamW's single-tensor step (amsgrad off). */
    private static double[] torchAdamW(double[] p, double[] g, double[][] mv, long t, double lr, double b1, double b2,
                                       double eps, double wd) {
        double[] out = p.clone();
        if (mv[0] == null) {
            mv[0] = new double[p.length];
            mv[1] = new double[p.length];
        }
        double bc1 = 1 - Math.pow(b1, t);
        double bc2 = 1 - Math.pow(b2, t);
        for (int i = 0; i < p.length; i++) {
            out[i] *= 1 - lr * wd;
            mv[0][i] = b1 * mv[0][i] + (1 - b1) * g[i];
            mv[1][i] = b2 * mv[1][i] + (1 - b2) * g[i] * g[i];
            out[i] -= lr / bc1 * mv[0][i] / (Math.sqrt(mv[1][i]) / Math.sqrt(bc2) + eps);
        }
        return out;
    }

    @Test
    void updatesMatchTorchsFormulaOverSeveralSteps() {
        try (Scope s = Scope.open()) {
            Linear l = OptimizerTestSupport.linear();
            try (AdamW opt = AdamW.builder().lr(0.05).betas(0.8, 0.95).eps(1e-6).weightDecay(0.1).build(l.parameters())) {
                Map<Parameter, double[][]> state = new HashMap<>();
                for (int step = 1; step <= 5; step++) {
                    backward(l);
                    Map<Parameter, double[]> expected = new HashMap<>();
                    for (Parameter p : l.parameters()) {
                        expected.put(p, torchAdamW(values(p), grad(p), state.computeIfAbsent(p, q -> new double[2][]), step,
                                0.05, 0.8, 0.95, 1e-6, 0.1));
                    }
                    opt.step();
                    opt.zeroGrad();
                    for (Parameter p : l.parameters()) {
                        assertArrayEquals(expected.get(p), values(p), 1e-14, p.name() + " step " + step);
                        assertEquals(step, opt.step(p));
                    }
                }
            }
        }
    }

    @Test
    void frozenParametersAreNotDecayed() {
        try (Scope s = Scope.open()) {
            Linear l = OptimizerTestSupport.linear();
            l.freeze("bias");
            double[] b = values(l.bias());
            try (AdamW opt = AdamW.builder().weightDecay(0.5).build(l.parameters())) {
                backward(l);
                opt.step();
                assertArrayEquals(b, values(l.bias()), 0);
                assertFalse(opt.hasState(l.bias()));
                assertEquals(0, opt.step(l.bias()));
            }
        }
    }

    @Test
    void badBetasAreRejected() {
        try (Scope s = Scope.open()) {
            Linear l = OptimizerTestSupport.linear();
            assertThrows(OptimizerException.class, () -> AdamW.builder().betas(1, 0.9).build(l.parameters()));
        }
    }
}
