package dev.graft.models;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Key counts, parameter counts and selected keys of every named architecture. The numbers come from
 * torchvision 0.14 ({@code len(m.state_dict())}, {@code sum(p.numel() for p in m.parameters())},
 * {@code len(list(m.parameters()))} with num_classes=7); the full key-by-key comparison against torchvision
 * lives in the tests module's parity suite.
 */
class ResNetTopologyTest {
    record Expected(String arch, int stateKeys, long parameters, int parameterTensors) {
    }

    static final List<Expected> TORCHVISION = List.of(
            new Expected("resnet18", 122, 11180103, 62),
            new Expected("resnet34", 218, 21288263, 110),
            new Expected("resnet50", 320, 23522375, 161),
            new Expected("resnet101", 626, 42514503, 314),
            new Expected("resnet152", 932, 58158151, 467),
            new Expected("resnext50_32x4d", 320, 22994247, 161),
            new Expected("resnext101_32x8d", 626, 86756679, 314),
            new Expected("wide_resnet50_2", 320, 66848583, 161),
            new Expected("wide_resnet101_2", 626, 124852039, 314));

    @Test
    void everyArchitectureHasTorchvisionsCountsAndIsInferredBackFromItsShapes() {
        for (Expected e : TORCHVISION) {
            try (ResNet m = ResNet.builder(e.arch()).numClasses(7).initialize(false).build()) {
                Map<String, Tensor> state = m.namedState();
                assertEquals(e.stateKeys(), state.size(), e.arch() + " state keys");
                assertEquals(e.parameters(), m.parameterCount(), e.arch() + " parameters");
                assertEquals(e.parameterTensors(), m.parameters().size(), e.arch() + " parameter tensors");
                Map<String, Shape> shapes = new java.util.LinkedHashMap<>();
                state.forEach((k, t) -> shapes.put(k, t.shape()));
                ResNetConfig inferred = ArchitectureInference.infer(shapes);
                assertEquals(m.config(), inferred, e.arch());
                assertEquals(e.arch(), inferred.architecture());
            }
        }
    }

    @Test
    void resnet50KeysFollowTorchvisionOrder() {
        try (ResNet m = ResNet.builder("resnet50").numClasses(2).initialize(false).build()) {
            List<String> keys = List.copyOf(m.namedState().keySet());
            assertEquals(List.of("conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                    "bn1.num_batches_tracked", "layer1.0.conv1.weight", "layer1.0.bn1.weight"), keys.subList(0, 8));
            int ds = keys.indexOf("layer1.0.downsample.0.weight");
            assertEquals("layer1.0.bn3.num_batches_tracked", keys.get(ds - 1));
            assertEquals("layer1.0.downsample.1.weight", keys.get(ds + 1));
            assertEquals(List.of("fc.weight", "fc.bias"), keys.subList(keys.size() - 2, keys.size()));
            Tensor nbt = m.namedState().get("bn1.num_batches_tracked");
            assertEquals(DType.I64, nbt.dtype());
            assertEquals(0, nbt.shape().rank());
            assertArrayEquals(new int[] {2, 2048}, m.namedState().get("fc.weight").shape().dims());
            assertArrayEquals(new int[] {128, 128, 3, 3}, m.namedState().get("layer2.0.conv2.weight").shape().dims());
            assertArrayEquals(new int[] {512, 256, 1, 1}, m.namedState().get("layer2.0.downsample.0.weight").shape().dims());
        }
    }

    @Test
    void resnext50GroupedWidths() {
        try (ResNet m = ResNet.builder("resnext50_32x4d").initialize(false).build()) {
            assertArrayEquals(new int[] {128, 4, 3, 3}, m.namedState().get("layer1.0.conv2.weight").shape().dims());
            assertArrayEquals(new int[] {1024, 32, 3, 3}, m.namedState().get("layer4.2.conv2.weight").shape().dims());
        }
    }

    @Test
    void forwardShapesOfNarrowModels() {
        for (ResNetConfig c : List.of(TinyModels.basic(), TinyModels.bottleneck())) {
            try (ResNet m = TinyModels.build(c, 1); Scope s = Scope.open()) {
                Tensor logits = m.forward(TinyModels.images(2, 3, 32, 5));
                assertArrayEquals(new int[] {2, 3}, logits.shape().dims());
                assertEquals(c.featureWidth(), m.features(TinyModels.images(2, 3, 32, 5)).dim(1));
            }
        }
    }

    @Test
    void badInputNamesTheExpectedShape() {
        try (ResNet m = TinyModels.build(TinyModels.basic(), 1); Scope s = Scope.open()) {
            ModelException e = assertThrows(ModelException.class, () -> m.forward(TinyModels.images(2, 1, 32, 5)));
            assertEquals(true, e.getMessage().contains("[N, 3, H, W]"), e.getMessage());
        }
    }

    @Test
    void configDescribeRoundTripsAndRejectsBadShapes() {
        ResNetConfig c = ResNetConfig.named("resnext101_32x8d", 5).withInChannels(1);
        assertEquals(c, ResNetConfig.parse(c.describe()));
        assertEquals("resnext101_32x8d", c.architecture());
        assertEquals("custom", TinyModels.basic().architecture());
        assertThrows(ModelException.class, () -> ResNetConfig.of(BlockType.BASIC, 2, 2, 2, 2).withGroups(32, 4));
        assertThrows(ModelException.class, () -> ResNetConfig.named("resnet19", 2));
        assertThrows(ModelException.class, () -> ResNetConfig.parse("block=basic layers=2"));
    }

    @Test
    void closingTheModelFreesItsStorage() {
        ResNet m = TinyModels.build(TinyModels.basic(), 1);
        long bytes = m.liveBytes();
        assertEquals(true, bytes > 4 * m.parameterCount());
        m.close();
        assertEquals(0, m.liveBytes());
        assertEquals(Device.REFERENCE, m.device());
    }
}
