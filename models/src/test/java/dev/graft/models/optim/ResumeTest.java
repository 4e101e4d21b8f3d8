package dev.graft.models.optim;

import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Scope;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.models.BlockType;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A loop stopped after two steps and resumed from exported model and optimizer state continues bit for bit:
 * the third step's model state equals the uninterrupted run's exactly (float bits, counters included).
 */
class ResumeTest {
    private static final ResNetConfig CONFIG = ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(4, 4, 8, 8, 8).withNumClasses(2);

    private static ResNet model() {
        ResNet m = ResNet.builder(CONFIG).seed(3).build();
        m.freezeUpTo("layer3");
        return m;
    }

    private static void step(ResNet m, Optimizer opt, int i) {
        try (Scope s = Scope.open()) {
            SplittableRandom r = new SplittableRandom(i);
            float[] x = new float[2 * 3 * 32 * 32];
            for (int k = 0; k < x.length; k++) {
                x[k] = (float) r.nextGaussian();
            }
            Tensor loss = Functional.crossEntropy(m.forward(Tensor.fromArray(Device.REFERENCE, x, 2, 3, 32, 32)), new int[] {i % 2, 1});
            loss.backward();
            GradClip.clipGradNorm(m.trainableParameters(), 0.5);
            opt.step();
            opt.zeroGrad();
        }
    }

    private static void resumesExactly(Function<ResNet, Optimizer> make) {
        StateDict straight;
        StateDict modelAt2;
        StateDict optimAt2;
        try (ResNet m = model(); Optimizer opt = make.apply(m)) {
            m.train();
            step(m, opt, 0);
            step(m, opt, 1);
            modelAt2 = m.stateDict();
            optimAt2 = opt.exportState();
            step(m, opt, 2);
            straight = m.stateDict();
        }
        assertTrue(optimAt2.size() > 0);
        try (ResNet m = ResNet.fromStateDict(modelAt2, Device.REFERENCE); Optimizer opt = make.apply(m)) {
            m.freezeUpTo("layer3");
            m.train();
            opt.importState(optimAt2);
            step(m, opt, 2);
            StateDict resumed = m.stateDict();
            straight.tensors().forEach((k, v) -> assertEquals(v, resumed.get(k), k));
        }
        // Control: without the optimizer state the third step differs, so the comparison above has teeth.
        try (ResNet m = ResNet.fromStateDict(modelAt2, Device.REFERENCE); Optimizer opt = make.apply(m)) {
            m.freezeUpTo("layer3");
            m.train();
            step(m, opt, 2);
            assertNotEquals(straight.get("fc.weight"), m.stateDict().get("fc.weight"));
        }
    }

    private static List<ParamGroup> groups(ResNet m) {
        List<ParamGroup> g = ParamGroups.backboneAndHead(m, "fc");
        g.get(0).lr(0.01);
        return ParamGroups.withoutDecayOnNormAndBias(g);
    }

    @Test
    void sgdResumesBitExactly() {
        resumesExactly(m -> Sgd.builder(0.1).momentum(0.9).weightDecay(1e-4).nesterov(true).build(groups(m)));
    }

    @Test
    void adamWResumesBitExactly() {
        resumesExactly(m -> AdamW.builder().lr(1e-2).build(groups(m)));
    }

    @Test
    void exportedStateUsesPyTorchFieldNamesAndRestoresLearningRates() {
        try (ResNet m = model(); AdamW opt = AdamW.builder().build(ParamGroups.all(m))) {
            m.train();
            step(m, opt, 0);
            opt.setLr("all", 0.25);
            StateDict s = opt.exportState();
            assertEquals("adamw", s.metadata().get(Optimizer.META_KIND));
            HostTensor t = s.get("fc.weight.step");
            assertEquals(1, t.longs()[0]);
            assertTrue(s.contains("layer3.0.conv1.weight.exp_avg_sq"));
            assertTrue(!s.contains("layer2.0.conv1.weight.exp_avg"), "frozen parameters have no state");
            opt.setLr("all", 1);
            opt.importState(s);
            assertEquals(0.25, opt.lr("all"));
        }
    }

    @Test
    void stateOfAnotherModelOrOptimizerIsRejected() {
        try (ResNet m = model(); Sgd sgd = Sgd.builder(0.1).momentum(0.9).build(ParamGroups.all(m));
             AdamW adam = AdamW.builder().build(ParamGroups.all(m))) {
            m.train();
            step(m, sgd, 0);
            StateDict s = sgd.exportState();
            assertThrows(OptimizerException.class, () -> adam.importState(s));
            StateDict foreign = new StateDict().put("head.weight.momentum_buffer", s.get("fc.weight.momentum_buffer"));
            assertThrows(OptimizerException.class, () -> sgd.importState(foreign));
            StateDict wrongShape = new StateDict().put("fc.bias.momentum_buffer", s.get("fc.weight.momentum_buffer"));
            assertThrows(OptimizerException.class, () -> sgd.importState(wrongShape));
        }
    }
}
