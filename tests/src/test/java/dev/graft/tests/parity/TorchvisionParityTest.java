package dev.graft.tests.parity;

import dev.graft.engine.Device;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Narrow torchvision ResNets (committed fixtures, see make_parity_fixtures.py) replayed on the reference backend.
 * Tolerances, relative to the largest magnitude of torch's tensor: logits (eval and train) and losses 1e-4;
 * gradients 5e-4; running statistics 1e-5; parameters after an SGD step 2e-6. torch computes in float32 with
 * its own summation order; the reference backend accumulates in double and rounds once per op, so differences
 * are float32 rounding carried through the network. Measured (reference backend): logits <= 3e-6, losses
 * <= 5e-7, gradients <= 3.1e-5 (a 0.003-sized fc.bias gradient), running stats <= 1.3e-6, SGD step <= 4.3e-7.
 */
class TorchvisionParityTest {
    static final double LOGITS = 1e-4;
    static final double LOSS = 1e-4;
    static final double GRADIENTS = 5e-4;
    static final double RUNNING_STATS = 1e-5;
    static final double SGD_STEP = 2e-6;

    static void check(ModelParity p) {
        System.out.println(p.summary());
        within(p, ModelParity.EVAL_LOGITS, LOGITS);
        within(p, ModelParity.TRAIN_LOGITS, LOGITS);
        within(p, ModelParity.LOSS, LOSS);
        within(p, ModelParity.GRADIENTS, GRADIENTS);
        within(p, ModelParity.RUNNING_STATS, RUNNING_STATS);
        within(p, ModelParity.SGD_STEP, SGD_STEP);
        within(p, ModelParity.WEIGHTED_LOSS, LOSS);
        within(p, ModelParity.WEIGHTED_GRADIENTS, GRADIENTS);
    }

    static void within(ModelParity p, String category, double tolerance) {
        assertTrue(!p.deviations(category).isEmpty(), category + " was not compared");
        for (Deviation d : p.deviations(category)) {
            assertTrue(d.relative() <= tolerance, category + " beyond " + tolerance + ": " + d);
        }
    }

    private static void replay(String stem) {
        RawFixture f = RawFixture.resource(stem);
        ResNetConfig config = ResNetConfig.parse(f.meta().path("config").asText());
        System.out.println(stem + " (" + config + ")");
        check(ModelParity.run(f, config, Device.REFERENCE));
    }

    @Test
    void narrowBasicBlockResNet() {
        replay("basic");
    }

    @Test
    void narrowGroupedBottleneckResNet() {
        replay("grouped");
    }
}
