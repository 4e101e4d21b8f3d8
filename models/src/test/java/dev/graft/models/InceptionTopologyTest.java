package dev.graft.models;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * InceptionV3's declaration (no forward passes: InceptionParityTest in tests compares values with torchvision):
 * the configuration line round-trips, freezing units and Grad-CAM layer, the BasicConv2d eps, the factorised kernels
 * as modules, the auxiliary head's place, and the refusals.
 */
class InceptionTopologyTest {
    @Test
    void configurationLineRoundTripsAndNamesTheArchitecture() {
        ResNetConfig c = ResNetConfig.named("inception_v3", 3);
        assertTrue(c.isInception() && c.transformInput() && c.auxLogits());
        assertEquals("family=inception transform_input=1 aux_logits=1 classes=3 in_channels=3", c.describe());
        assertEquals(c, ResNetConfig.parse(c.describe()));
        ResNetConfig noAux = c.withAuxLogits(false);
        assertEquals(noAux, ResNetConfig.parse(noAux.describe()));
        assertEquals("inception_v3", noAux.architecture());
        assertEquals(2048, c.featureWidth());
        assertFalse(ResNetConfig.architectures().contains("inception_v3"), "the torchvision ResNet list stays ResNets");
        assertTrue(Architectures.names().contains("inception_v3"));
    }

    @Test
    void unitsCamLayerAndAuxiliaryHeadAreDeclared() {
        Topology t = ResNetConfig.named("inception_v3", 2).topology();
        assertEquals(List.of("Conv2d_1a_3x3", "Mixed_5b", "Mixed_6a", "Mixed_6b", "Mixed_7a", "Mixed_7b", "fc"), t.unitNames());
        assertEquals(List.of("fc", "AuxLogits"), t.units().get(t.units().size() - 1).modules());
        assertEquals("Mixed_7c", ((Topology.Branches) t.layers().get(t.camLayer())).name());
        assertEquals("Mixed_6e", ((Topology.Branches) t.layers().get(t.aux().afterLayer())).name());
        assertEquals(94, t.convolutions().size(), "torchvision's BasicConv2d count without the auxiliary head");
        assertTrue(t.convolutions().stream().allMatch(c -> c.eps() == 1e-3 && !c.convBias() && c.relu()));
        assertNull(ResNetConfig.named("inception_v3", 2).withAuxLogits(false).topology().aux());
    }

    @Test
    void factorisedConvolutionsAreModulesOfTheirShape() {
        try (ResNet m = ResNet.builder("inception_v3").initialize(false).build()) {
            Conv2d c = assertInstanceOf(Conv2d.class, m.module("Mixed_6b.branch7x7_2.conv"));
            assertEquals(1, c.kernelSize());
            assertEquals(7, c.kernelW());
            assertEquals(3, c.spec().padW());
            assertEquals(0, c.spec().padH());
            assertEquals(1e-3, ((BatchNorm2d) m.module("Mixed_7c.branch3x3dbl_3b.bn")).eps());
            assertTrue(m.hasAuxHead());
            assertEquals(0.5, m.dropout());
            assertThrows(ModelException.class, m::adaptToGrayscale);
        }
    }

    @Test
    void replaceHeadAlsoReplacesTheAuxiliaryHead() {
        try (ResNet m = ResNet.builder("inception_v3").initialize(false).build()) {
            m.replaceHead(4);
            assertEquals(4, ((Linear) m.module("AuxLogits.fc")).outFeatures());
            assertEquals(4, m.fc().outFeatures());
            assertEquals(4, m.config().numClasses());
        }
    }

    @Test
    void badConfigurationsAreRefused() {
        assertThrows(ModelException.class, () -> ResNetConfig.named("inception_v3", 2).withWidths(8, 8, 8, 8, 8));
        assertThrows(ModelException.class, () -> ResNetConfig.named("resnet18", 2).withAuxLogits(false));
        assertFalse(ResNetConfig.named("inception_v3", 2).withInChannels(1).transformInput());
    }
}
