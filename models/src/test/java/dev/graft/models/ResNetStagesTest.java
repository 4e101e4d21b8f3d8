package dev.graft.models;

import dev.graft.engine.Functional;
import dev.graft.engine.Scope;
import dev.graft.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * {@link ResNet#features} runs each block in an intermediates scope (freeing what backward does not read as the
 * block returns). That must change no value: logits and every parameter gradient equal, bit for bit, those of
 * the same modules run one after another in a plain scope, in training mode and with a frozen backbone.
 */
class ResNetStagesTest {
    private static final int[] LABELS = {0, 2};

    /** The forward pass of torchvision's ResNet, module by module, with no scopes of its own. */
    private static Tensor unstagedForward(ResNet m, Tensor x) {
        Tensor y = x;
        for (String name : new String[] {"conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool"}) {
            y = m.module(name).forward(y);
        }
        return m.fc().forward(y.flatten(1));
    }

    private static Map<String, float[]> step(ResNetConfig config, boolean staged, boolean frozen) {
        try (ResNet m = TinyModels.build(config, 11); Scope step = Scope.open("step")) {
            if (frozen) {
                m.setBatchNormPolicy(BatchNormPolicy.HOLD);
                m.freeze();
                m.unfreeze("fc");
            }
            m.train();
            Tensor x = TinyModels.images(2, 3, 32, 5);
            Tensor logits = staged ? m.forward(x) : unstagedForward(m, x);
            Functional.crossEntropy(logits, LABELS).backward();
            Map<String, float[]> out = new LinkedHashMap<>();
            out.put("logits", logits.toFloatArray());
            m.namedParameters().forEach((n, p) -> {
                if (p.grad() != null) {
                    out.put(n, p.grad().toFloatArray());
                }
            });
            return out;
        }
    }

    private static void assertSame(ResNetConfig config, boolean frozen) {
        Map<String, float[]> plain = step(config, false, frozen);
        Map<String, float[]> staged = step(config, true, frozen);
        assertArrayEquals(plain.keySet().toArray(), staged.keySet().toArray(), "parameters with gradients");
        plain.forEach((k, v) -> assertArrayEquals(v, staged.get(k), k));
    }

    @Test
    void basicBlocksGiveIdenticalGradients() {
        assertSame(TinyModels.basic(), false);
    }

    @Test
    void bottlenecksGiveIdenticalGradients() {
        assertSame(TinyModels.bottleneck(), false);
    }

    @Test
    void aFrozenBackboneGivesIdenticalHeadGradients() {
        assertSame(TinyModels.basic(), true);
    }
}
