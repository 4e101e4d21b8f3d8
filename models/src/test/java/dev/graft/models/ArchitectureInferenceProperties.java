package dev.graft.models;

import dev.graft.engine.Shape;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Inference inverts construction: for random ResNet shapes (block, blocks per stage, stem and stage widths,
 * groups and width per group, classes, input channels) the configuration read back from the built model's
 * keys and shapes is the one it was built from. Widths are chosen so that floor(planes * wpg / 64) loses
 * nothing, as in every torchvision architecture; otherwise two configurations can share all shapes.
 */
class ArchitectureInferenceProperties {

    @Provide
    Arbitrary<ResNetConfig> configs() {
        Arbitrary<int[]> layers = Arbitraries.integers().between(1, 3).array(int[].class).ofSize(4);
        Arbitrary<int[]> planes = Arbitraries.integers().between(1, 4).map(k -> 4 * k).array(int[].class).ofSize(4);
        Arbitrary<Integer> stem = Arbitraries.integers().between(1, 12);
        Arbitrary<Integer> groups = Arbitraries.of(1, 2, 4);
        Arbitrary<Integer> widthPerGroup = Arbitraries.of(16, 32, 64, 128);
        Arbitrary<Boolean> bottleneck = Arbitraries.of(true, false);
        Arbitrary<Integer> classes = Arbitraries.integers().between(1, 7);
        Arbitrary<Integer> inChannels = Arbitraries.of(1, 3);
        return Combinators.combine(bottleneck, layers, planes, stem, groups, widthPerGroup, classes, inChannels)
                .as((b, l, p, s, g, w, c, in) -> b
                        ? new ResNetConfig(BlockType.BOTTLENECK, l, g, w, c, in, s, p)
                        : new ResNetConfig(BlockType.BASIC, l, 1, 64, c, in, s, p));
    }

    @Property(tries = 60)
    void inferenceReadsBackTheConfigurationAModelWasBuiltFrom(@ForAll("configs") ResNetConfig config) {
        try (ResNet m = ResNet.builder(config).initialize(false).build()) {
            Map<String, Shape> shapes = new LinkedHashMap<>();
            m.namedState().forEach((k, t) -> shapes.put(k, t.shape()));
            assertEquals(config, ArchitectureInference.infer(shapes));
        }
    }
}
