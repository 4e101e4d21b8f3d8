package dev.graft.models;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FreezingTest {

    private static List<String> trainable(Module m) {
        return m.trainableParameters().stream().map(Parameter::name).toList();
    }

    @Test
    void freezeAllThenUnfreezeTheHeadByGlob() {
        try (ResNet m = TinyModels.build(TinyModels.basic(), 1)) {
            m.freeze();
            assertTrue(m.trainableParameters().isEmpty());
            m.unfreeze("fc.*");
            assertEquals(List.of("fc.weight", "fc.bias"), trainable(m));
            assertFalse(m.conv1().weight().tensor().requiresGrad());
            assertTrue(m.fc().weight().tensor().requiresGrad());
            m.unfreeze();
            assertEquals(m.parameters().size(), m.trainableParameters().size());
        }
    }

    @Test
    void prefixesSelectModulesNotLookalikeNames() {
        try (ResNet m = TinyModels.build(TinyModels.basic(), 1)) {
            m.freeze("layer1", "bn1");
            for (Parameter p : m.parameters()) {
                boolean frozen = p.name().startsWith("layer1.") || p.name().startsWith("bn1.");
                assertEquals(!frozen, p.trainable(), p.name());
            }
            assertTrue(m.module("layer1.0.bn1") instanceof BatchNorm2d bn && bn.isFrozen());
            assertFalse(((BatchNorm2d) m.module("layer2.0.bn1")).isFrozen());
        }
    }

    @Test
    void freezeUpToTrainsTheNamedBlockAndEverythingAfter() {
        try (ResNet m = TinyModels.build(TinyModels.basic(), 1)) {
            m.freezeUpTo("layer4");
            assertTrue(trainable(m).stream().allMatch(n -> n.startsWith("layer4.") || n.startsWith("fc.")));
            assertEquals(m.parameters("layer4", "fc").size(), m.trainableParameters().size());
            m.freezeUpTo("layer3.0.bn2");
            assertTrue(m.parameters("layer3.0.bn2.weight").get(0).trainable());
            assertFalse(m.parameters("layer3.0.conv2.weight").get(0).trainable());
            assertTrue(m.parameters("layer3.0.downsample.0.weight").get(0).trainable());
            m.freezeUpTo("avgpool");
            assertEquals(List.of("fc.weight", "fc.bias"), trainable(m));
            assertThrows(ModelException.class, () -> m.freezeUpTo("layer5"));
        }
    }

    @Test
    void aSelectorThatMatchesNothingIsAnError() {
        try (ResNet m = TinyModels.build(TinyModels.basic(), 1)) {
            ModelException e = assertThrows(ModelException.class, () -> m.freeze("layer_4"));
            assertTrue(e.getMessage().contains("layer4"), e.getMessage());
            assertThrows(ModelException.class, () -> m.freeze("head.*"));
            assertThrows(ModelException.class, () -> m.freeze("layer1.0.con"));
            assertEquals(m.parameters().size(), m.trainableParameters().size());
        }
    }

    @Test
    void aBatchNormIsFrozenWhenBothWeightAndBiasAreSelected() {
        try (ResNet m = TinyModels.build(TinyModels.basic(), 1)) {
            BatchNorm2d bn = (BatchNorm2d) m.module("layer1.0.bn2");
            m.freeze("layer1.0.bn2.weight");
            assertFalse(bn.isFrozen());
            m.freeze("*.bn2.bias");
            assertTrue(bn.isFrozen());
            m.unfreeze("layer1.0.bn2.bias");
            assertFalse(bn.isFrozen());
            assertFalse(bn.weight().trainable());
            assertTrue(bn.bias().trainable());
        }
    }

    @Test
    void affinePolicyKeepsGammaAndBetaTrainableInFrozenLayers() {
        try (ResNet m = TinyModels.build(TinyModels.basic(), 1)) {
            m.setBatchNormPolicy(BatchNormPolicy.AFFINE).freeze();
            List<String> t = trainable(m);
            assertFalse(t.isEmpty());
            assertTrue(t.stream().allMatch(n -> n.contains("bn") || n.contains("downsample.1")), t.toString());
            assertTrue(m.namedModules().values().stream().filter(x -> x instanceof BatchNorm2d)
                    .allMatch(x -> ((BatchNorm2d) x).isFrozen()));
            m.setBatchNormPolicy(BatchNormPolicy.HOLD);
            assertTrue(m.trainableParameters().isEmpty());
            m.setBatchNormPolicy(BatchNormPolicy.AFFINE);
            assertEquals(t, trainable(m));
            m.unfreeze();
            assertTrue(m.namedModules().values().stream().filter(x -> x instanceof BatchNorm2d)
                    .noneMatch(x -> ((BatchNorm2d) x).isFrozen()));
        }
    }

    @Test
    void freezingDropsStaleGradients() {
        try (ResNet m = TinyModels.build(TinyModels.basic(), 1); var s = dev.graft.engine.Scope.open()) {
            m.train();
            dev.graft.engine.Functional.crossEntropy(m.forward(TinyModels.images(2, 3, 32, 1)), new int[] {0, 2}).backward();
            assertTrue(m.conv1().weight().grad() != null);
            m.freeze("conv1");
            assertEquals(null, m.conv1().weight().grad());
        }
    }

    @Test
    void policyIsReportedInMetadataAndParsed() {
        assertEquals(BatchNormPolicy.HOLD, BatchNormPolicy.parse(" Hold "));
        assertEquals("affine", BatchNormPolicy.AFFINE.metadataValue());
        assertThrows(ModelException.class, () -> BatchNormPolicy.parse("frozen"));
    }
}
