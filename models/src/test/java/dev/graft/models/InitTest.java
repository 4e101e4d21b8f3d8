package dev.graft.models;

import dev.graft.engine.StateDict;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InitTest {

    private static double[] meanAndStd(float[] v) {
        double s = 0;
        double ss = 0;
        for (float x : v) {
            s += x;
            ss += (double) x * x;
        }
        double mean = s / v.length;
        return new double[] {mean, Math.sqrt(ss / v.length - mean * mean)};
    }

    @Test
    void convolutionsAreKaimingNormalFanOutAndTheHeadIsLinearDefault() {
        try (ResNet m = ResNet.builder("resnet18").numClasses(10).seed(3).build()) {
            // layer4.0.conv2: 2.36M draws from N(0, 2 / (512 * 3 * 3)); sample std within 1%.
            double[] ms = meanAndStd(m.parameters("layer4.0.conv2.weight").get(0).tensor().toFloatArray());
            double std = Math.sqrt(2.0 / (512 * 9));
            assertEquals(0, ms[0], std * 0.01);
            assertEquals(std, ms[1], std * 0.01);
            // fc: U(-1/sqrt(512), 1/sqrt(512)) for weight and bias.
            double bound = 1 / Math.sqrt(512);
            float[] w = m.fc().weight().tensor().toFloatArray();
            double max = 0;
            for (float x : w) {
                max = Math.max(max, Math.abs(x));
            }
            assertTrue(max <= bound && max > 0.95 * bound, "max |w| " + max);
            assertEquals(bound / Math.sqrt(3), meanAndStd(w)[1], bound * 0.05);
            for (float b : m.fc().bias().tensor().toFloatArray()) {
                assertTrue(Math.abs(b) <= bound);
            }
            BatchNorm2d bn = (BatchNorm2d) m.module("layer2.1.bn2");
            for (float x : bn.weight().tensor().toFloatArray()) {
                assertEquals(1f, x);
            }
            for (float x : bn.runningVar().toFloatArray()) {
                assertEquals(1f, x);
            }
        }
    }

    @Test
    void sameSeedSameWeightsOtherSeedOtherWeights() {
        try (ResNet a = TinyModels.build(TinyModels.bottleneck(), 7); ResNet b = TinyModels.build(TinyModels.bottleneck(), 7);
             ResNet c = TinyModels.build(TinyModels.bottleneck(), 8)) {
            StateDict sa = a.stateDict();
            sa.tensors().forEach((k, v) -> assertEquals(v, b.stateDict().get(k), k));
            assertNotEquals(sa.get("layer3.0.conv2.weight"), c.stateDict().get("layer3.0.conv2.weight"));
        }
    }

    @Test
    void zeroInitResidualZeroesTheLastBatchNormOfEveryBlock() {
        for (ResNetConfig config : List.of(TinyModels.basic(), TinyModels.bottleneck())) {
            try (ResNet m = ResNet.builder(config).zeroInitResidual(true).build()) {
                String last = config.block() == BlockType.BASIC ? "bn2" : "bn3";
                for (var e : m.namedModules().entrySet()) {
                    if (e.getValue() instanceof BatchNorm2d bn) {
                        boolean zero = e.getKey().endsWith("." + last);
                        for (float x : bn.weight().tensor().toFloatArray()) {
                            assertEquals(zero ? 0f : 1f, x, e.getKey());
                        }
                    }
                }
            }
        }
    }

    @Test
    void replaceHeadBuildsAFreshTrainableLinearInTheModelsScope() {
        try (ResNet m = TinyModels.build(TinyModels.basic(), 1)) {
            m.freeze();
            long before = m.liveBytes();
            List<String> keys = List.copyOf(m.namedState().keySet());
            m.replaceHead(2);
            assertEquals(keys, List.copyOf(m.namedState().keySet()));
            assertArrayEquals(new int[] {2, 16}, m.fc().weight().shape().dims());
            assertEquals(2, m.config().numClasses());
            assertEquals(List.of("fc.weight", "fc.bias"), m.trainableParameters().stream().map(Parameter::name).toList());
            assertEquals(before - (3 * 16 + 3 - 2 * 16 - 2) * 4L, m.liveBytes(), "old head freed, new one in the model's scope");
            double bound = 1 / Math.sqrt(16);
            for (float x : m.fc().weight().tensor().toFloatArray()) {
                assertTrue(Math.abs(x) <= bound);
            }
            float[] first = m.fc().weight().tensor().toFloatArray();
            m.replaceHead(2);
            assertNotEquals(first[0], m.fc().weight().tensor().toFloatArray()[0], "each new head draws fresh values");
            assertEquals("2", m.stateDict().metadata().get(ResNet.META_CONFIG).replaceAll(".*classes=(\\d+).*", "$1"));
        }
    }
}
