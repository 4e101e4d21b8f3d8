package dev.graft.engine.backend.cpu;

import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.AdamWSpec;
import dev.graft.engine.backend.SgdSpec;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

import static dev.graft.engine.backend.cpu.Oracle.CPU;
import static dev.graft.engine.backend.cpu.Oracle.REF;
import static dev.graft.engine.backend.cpu.Oracle.assertExact;
import static dev.graft.engine.backend.cpu.Oracle.cpu;
import static dev.graft.engine.backend.cpu.Oracle.random;
import static dev.graft.engine.backend.cpu.Oracle.ref;

/**
 * SGD (momentum, dampening, Nesterov, weight decay, first step) and AdamW over several steps: both backends
 * evaluate PyTorch's formulas per element in double and round once, so parameters and state must agree
 * exactly, step after step. The gradient arrives channels-last when the parameter is 4-D, as a conv weight's
 * gradient may.
 */
class CpuOptimizerProperties {

    @Property(tries = 30)
    void sgdMatchesReference(@ForAll @IntRange(min = 1, max = 300) int numel, @ForAll boolean momentum,
                             @ForAll boolean nesterov, @ForAll boolean weightDecay, @ForAll boolean dampening,
                             @ForAll boolean fourD, @ForAll long seed) {
        SgdSpec spec = new SgdSpec(0.05, momentum ? 0.9 : 0, dampening && !nesterov ? 0.3 : 0, weightDecay ? 1e-3 : 0,
                nesterov && momentum);
        Shape s = fourD ? Shape.of(numel, 1, 1, 1) : Shape.of(numel);
        try (Scope scope = Scope.open()) {
            float[] p = random(numel, seed);
            NDArray pr = ref(p, s);
            NDArray pc = cpu(p, s);
            NDArray br = momentum ? ref(new float[numel], s) : null;
            NDArray bc = momentum ? cpu(new float[numel], s) : null;
            for (int step = 0; step < 3; step++) {
                float[] g = random(numel, seed + 10 + step);
                REF.sgdUpdate(pr, ref(g, s), br, spec, step == 0);
                CPU.sgdUpdate(pc, cpu(g, s, true), bc, spec, step == 0);
                assertExact("sgd parameter after step " + step + " " + spec, pr, pc);
                if (momentum) {
                    assertExact("sgd momentum buffer after step " + step, br, bc);
                }
            }
        }
    }

    @Property(tries = 30)
    void adamwMatchesReference(@ForAll @IntRange(min = 1, max = 300) int numel, @ForAll boolean weightDecay,
                               @ForAll long seed) {
        AdamWSpec spec = new AdamWSpec(1e-3, 0.9, 0.999, 1e-8, weightDecay ? 0.01 : 0);
        Shape s = Shape.of(numel);
        try (Scope scope = Scope.open()) {
            float[] p = random(numel, seed);
            NDArray pr = ref(p, s);
            NDArray pc = cpu(p, s);
            NDArray mr = ref(new float[numel], s);
            NDArray vr = ref(new float[numel], s);
            NDArray mc = cpu(new float[numel], s);
            NDArray vc = cpu(new float[numel], s);
            for (int step = 1; step <= 3; step++) {
                float[] g = random(numel, seed + 10 + step);
                REF.adamwUpdate(pr, ref(g, s), mr, vr, spec, step);
                CPU.adamwUpdate(pc, cpu(g, s), mc, vc, spec, step);
                assertExact("adamw parameter after step " + step, pr, pc);
                assertExact("adamw m after step " + step, mr, mc);
                assertExact("adamw v after step " + step, vr, vc);
            }
        }
    }
}
