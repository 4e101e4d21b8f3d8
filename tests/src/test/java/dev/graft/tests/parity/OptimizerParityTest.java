package dev.graft.tests.parity;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Scope;
import dev.graft.engine.Tensor;
import dev.graft.models.Linear;
import dev.graft.models.optim.AdamW;
import dev.graft.models.optim.Optimizer;
import dev.graft.models.optim.ParamGroup;
import dev.graft.models.optim.Sgd;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * torch.optim.SGD and AdamW over three steps of Linear(5, 3) + cross-entropy (fixture optim.json): every
 * step's parameters within 1e-6 relative to the largest magnitude (F32 rounding; measured <= 2e-7).
 */
class OptimizerParityTest {
    static final double TOLERANCE = 1e-6;

    private static void replay(String variant, Function<Linear, Optimizer> make) {
        RawFixture f = RawFixture.resource("optim");
        try (Scope s = Scope.open()) {
            Linear model = new Linear(5, 3, true, Device.REFERENCE, DType.F32);
            model.load(f.stateDict("init/"), true);
            Tensor x = f.get("x").toTensor(Device.REFERENCE);
            int[] y = f.labels("y");
            try (Optimizer opt = make.apply(model)) {
                for (int step = 1; step <= 3; step++) {
                    opt.zeroGrad();
                    Functional.crossEntropy(model.forward(x), y).backward();
                    opt.step();
                    for (String p : List.of("weight", "bias")) {
                        Deviation d = Deviation.of(variant + " step " + step + " " + p,
                                f.get(variant + "/" + step + "/" + p).toFloats(),
                                model.namedParameters().get(p).tensor().toFloatArray());
                        System.out.println(d);
                        assertTrue(d.relative() <= TOLERANCE, d.toString());
                    }
                }
            }
        }
    }

    @Test
    void sgdVariants() {
        replay("sgd_plain", m -> Sgd.builder(0.1).build(m.parameters()));
        replay("sgd_momentum_dampening", m -> Sgd.builder(0.1).momentum(0.9).dampening(0.1).weightDecay(1e-2).build(m.parameters()));
        replay("sgd_nesterov", m -> Sgd.builder(0.1).momentum(0.9).weightDecay(1e-2).nesterov(true).build(m.parameters()));
        replay("sgd_groups", m -> Sgd.builder(0.5).momentum(0.9).weightDecay(1e-2).build(List.of(
                ParamGroup.of("weight", List.of(m.weight())).lr(0.1),
                ParamGroup.of("bias", List.of(m.bias())).lr(0.01).weightDecay(0))));
    }

    @Test
    void adamWVariants() {
        replay("adamw", m -> AdamW.builder().lr(1e-2).build(m.parameters()));
        replay("adamw_custom", m -> AdamW.builder().lr(0.05).betas(0.8, 0.95).eps(1e-6).weightDecay(0.1).build(m.parameters()));
    }
}
