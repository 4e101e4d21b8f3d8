package dev.graft.models.optim;

import dev.graft.engine.Scope;
import dev.graft.models.Linear;
import dev.graft.models.Parameter;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.graft.models.optim.OptimizerTestSupport.backward;
import static dev.graft.models.optim.OptimizerTestSupport.grad;
import static dev.graft.models.optim.OptimizerTestSupport.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SGD against torch.optim.SGD's update written out in the test (F64, tolerance 1e-14 absolute on values of
 * order 1). Parity with torch itself is in the tests module's fixtures.
 */
class SgdTest {

    /** torch.optim.SGD's per-parameter step. */
    private static double[] torchSgd(double[] p, double[] g, double[][] buf, double lr, double momentum, double dampening,
                                     double wd, boolean nesterov) {
        double[] out = p.clone();
        double[] d = new double[p.length];
        for (int i = 0; i < p.length; i++) {
            d[i] = g[i] + wd * p[i];
        }
        if (momentum != 0) {
            if (buf[0] == null) {
                buf[0] = d.clone();
            } else {
                for (int i = 0; i < p.length; i++) {
                    buf[0][i] = momentum * buf[0][i] + (1 - dampening) * d[i];
                }
            }
            for (int i = 0; i < p.length; i++) {
                d[i] = nesterov ? d[i] + momentum * buf[0][i] : buf[0][i];
            }
        }
        for (int i = 0; i < p.length; i++) {
            out[i] -= lr * d[i];
        }
        return out;
    }

    private static void checkAgainstTorch(double momentum, double dampening, double wd, boolean nesterov) {
        try (Scope s = Scope.open()) {
            Linear l = OptimizerTestSupport.linear();
            Sgd sgd = Sgd.builder(0.1).momentum(momentum).dampening(dampening).weightDecay(wd).nesterov(nesterov).build(l.parameters());
            Map<Parameter, double[][]> bufs = new HashMap<>();
            for (int step = 0; step < 4; step++) {
                backward(l);
                Map<Parameter, double[]> expected = new HashMap<>();
                for (Parameter p : l.parameters()) {
                    expected.put(p, torchSgd(values(p), grad(p), bufs.computeIfAbsent(p, q -> new double[1][]), 0.1,
                            momentum, dampening, wd, nesterov));
                }
                sgd.step();
                sgd.zeroGrad();
                for (Parameter p : l.parameters()) {
                    assertArrayEquals(expected.get(p), values(p), 1e-14, p.name() + " step " + step);
                    assertNull(p.grad());
                }
            }
            sgd.close();
        }
    }

    @Test
    void plainMomentumDampeningNesterovAndWeightDecayMatchTorchsFormula() {
        checkAgainstTorch(0, 0, 0, false);
        checkAgainstTorch(0.9, 0, 1e-2, false);
        checkAgainstTorch(0.9, 0.3, 1e-2, false);
        checkAgainstTorch(0.9, 0, 1e-2, true);
    }

    @Test
    void frozenParametersGetNoUpdateNoDecayAndNoState() {
        try (Scope s = Scope.open()) {
            Linear l = OptimizerTestSupport.linear();
            l.freeze("weight");
            double[] w = values(l.weight());
            try (Sgd sgd = Sgd.builder(0.1).momentum(0.9).weightDecay(0.5).build(l.parameters())) {
                backward(l);
                sgd.step();
                assertArrayEquals(w, values(l.weight()), 0);
                assertFalse(sgd.hasState(l.weight()));
                assertTrue(sgd.hasState(l.bias()));
                assertEquals(1, sgd.stateCount());
                l.unfreeze();
                sgd.zeroGrad();
                backward(l);
                sgd.step();
                assertTrue(sgd.hasState(l.weight()), "unfreezing needs no optimizer surgery");
                assertFalse(java.util.Arrays.equals(w, values(l.weight())));
            }
        }
    }

    @Test
    void groupsHaveTheirOwnLearningRateAndWeightDecay() {
        try (Scope s = Scope.open()) {
            Linear l = OptimizerTestSupport.linear();
            List<ParamGroup> groups = List.of(ParamGroup.of("w", List.of(l.weight())).lr(0.01),
                    ParamGroup.of("b", List.of(l.bias())).weightDecay(0));
            try (Sgd sgd = Sgd.builder(0.1).weightDecay(0.2).build(groups)) {
                assertEquals(0.01, sgd.lr("w"));
                assertEquals(0.2, sgd.weightDecay("w"));
                assertEquals(0.1, sgd.lr("b"));
                assertEquals(0.0, sgd.weightDecay("b"));
                backward(l);
                double[] w = values(l.weight());
                double[] gw = grad(l.weight());
                double[] b = values(l.bias());
                double[] gb = grad(l.bias());
                sgd.step();
                for (int i = 0; i < w.length; i++) {
                    assertEquals(w[i] - 0.01 * (gw[i] + 0.2 * w[i]), values(l.weight())[i], 1e-15);
                }
                for (int i = 0; i < b.length; i++) {
                    assertEquals(b[i] - 0.1 * gb[i], values(l.bias())[i], 1e-15);
                }
                sgd.setLr("w", 0.5);
                assertEquals(0.5, sgd.lr("w"));
                assertEquals(0.01, sgd.initialLr("w"));
                assertThrows(OptimizerException.class, () -> sgd.lr("head"));
            }
        }
    }

    @Test
    void badOptionsAreRejected() {
        try (Scope s = Scope.open()) {
            Linear l = OptimizerTestSupport.linear();
            assertThrows(OptimizerException.class, () -> Sgd.builder(0.1).nesterov(true).build(l.parameters()));
            assertThrows(OptimizerException.class, () -> Sgd.builder(-1).build(l.parameters()));
            assertThrows(OptimizerException.class, () -> Sgd.builder(0.1).build(
                    List.of(ParamGroup.of("a", l.parameters()), ParamGroup.of("b", List.of(l.bias())))));
            assertThrows(OptimizerException.class, () -> ParamGroup.of("empty", List.of()));
        }
    }
}
