package dev.graft.models;

import dev.graft.engine.Device;
import dev.graft.engine.testing.CountingBackend;
import dev.graft.engine.Functional;
import dev.graft.engine.Scope;
import dev.graft.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Backward through frozen parts runs no kernels there: kernel calls are counted on the reference backend.
 * The narrow basic model has 12 convolutions: conv1, two per block in 4 blocks, and a downsample conv in
 * layer2..layer4 (layer1 keeps width and stride, so it has none).
 */
class FrozenBackwardTest {

    /** Counts of one train-mode forward + cross-entropy + backward after {@code freezing}. */
    private static CountingBackend backwardCounts(BatchNormPolicy policy, Consumer<ResNet> freezing) throws Exception {
        try (ResNet m = TinyModels.build(TinyModels.basic(), 4)) {
            m.setBatchNormPolicy(policy);
            freezing.accept(m);
            m.train();
            CountingBackend counting = CountingBackend.install(Device.REFERENCE);
            try (counting; Scope s = Scope.open()) {
                Tensor x = TinyModels.images(2, 3, 32, 9);
                Tensor loss = Functional.crossEntropy(m.forward(x), new int[] {1, 2});
                counting.reset();
                loss.backward();
                for (Parameter p : m.parameters()) {
                    assertEquals(p.trainable(), p.grad() != null, p.name());
                }
            }
            return counting;
        }
    }

    @Test
    void frozenBackboneRunsOnlyTheHeadsWeightGradient() throws Exception {
        CountingBackend c = backwardCounts(BatchNormPolicy.TRACK, m -> m.freeze().unfreeze("fc"));
        assertEquals(0, c.count("conv2dBackwardWeights"), c.counts().toString());
        assertEquals(0, c.count("conv2dBackwardData"));
        assertEquals(0, c.count("batchNormBackward"));
        assertEquals(0, c.count("batchNormReluBackward"));
        assertEquals(0, c.count("maxPool2dBackward"));
        assertEquals(0, c.count("reluBackward"));
        assertEquals(0, c.count("globalAvgPoolBackward"));
        assertEquals(1, c.count("gemm"), "only dW = dY^T X for fc, no gradient for the frozen features");
    }

    @Test
    void frozenBackboneRecordsNoGraph() {
        try (ResNet m = TinyModels.build(TinyModels.basic(), 4); Scope s = Scope.open()) {
            m.freeze().unfreeze("fc");
            m.train();
            Tensor features = m.features(TinyModels.images(2, 3, 32, 9));
            assertFalse(features.requiresGrad());
            assertEquals(true, features.isLeaf());
        }
    }

    @Test
    void freezeUpToLayer4RunsLayer4sKernelsOnly() throws Exception {
        CountingBackend c = backwardCounts(BatchNormPolicy.HOLD, m -> m.freezeUpTo("layer4"));
        assertEquals(3, c.count("conv2dBackwardWeights"), "layer4.0 conv1, conv2, downsample.0");
        assertEquals(1, c.count("conv2dBackwardData"), "only conv2: conv1 and downsample read frozen layer3's output");
        // bn1 is fused with its relu (batchNormReluBackward), bn2 and downsample.1 are not.
        assertEquals(3, c.count("batchNormBackward") + c.count("batchNormReluBackward"), "bn1, bn2, downsample.1 of layer4.0");
        assertEquals(0, c.count("maxPool2dBackward"));
    }

    @Test
    void frozenStemRunsNoStemKernels() throws Exception {
        CountingBackend c = backwardCounts(BatchNormPolicy.TRACK, m -> m.freeze("conv1", "bn1"));
        assertEquals(11, c.count("conv2dBackwardWeights"), "all but conv1");
        assertEquals(10, c.count("conv2dBackwardData"), "not conv1, nor layer1.0.conv1 whose input comes from the frozen stem");
        assertEquals(0, c.count("maxPool2dBackward"));
    }

    @Test
    void nothingFrozenRunsEveryWeightGradient() throws Exception {
        CountingBackend c = backwardCounts(BatchNormPolicy.TRACK, m -> { });
        assertEquals(12, c.count("conv2dBackwardWeights"));
        assertEquals(11, c.count("conv2dBackwardData"), "every conv but conv1, whose input is the image");
        assertEquals(1, c.count("maxPool2dBackward"));
    }

    @Test
    void frozenParametersNeverHoldGradients() throws Exception {
        try (ResNet m = TinyModels.build(TinyModels.basic(), 4); Scope s = Scope.open()) {
            m.freeze("layer1");
            Functional.crossEntropy(m.forward(TinyModels.images(2, 3, 32, 9)), new int[] {0, 1}).backward();
            assertNull(m.parameters("layer1.0.conv1.weight").get(0).grad());
        }
    }
}
