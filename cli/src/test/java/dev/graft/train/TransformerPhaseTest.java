package dev.graft.train;

import dev.graft.engine.Device;
import dev.graft.models.Parameter;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import dev.graft.models.SwinConfig;
import dev.graft.models.ViTConfig;
import dev.graft.models.optim.ParamGroup;
import org.junit.jupiter.api.Test;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The head and fine-tune phases on the transformers: the head phase trains the classifier only; fine-tuning's
 * discriminative groups (body0, body1, head) hold every parameter of the network once, the final layer norm in the
 * head group with the classifier (it was in no group, so never stepped, before the last unit became the head group).
 */
class TransformerPhaseTest {
    private static TrainConfig config(String unfreezeFrom) {
        return new TrainConfig("unused", null, 0.2, null, null, "unused", 16, 16, 4, 1, 1, 1e-3, 1, "adamw", 0.9, 0.01, false,
                "constant", 0, "none", 0, 0, "hold", unfreezeFrom, "none", "shuffle", 0, 1, "reference", "loss", null, null, false, null,
                false, false);
    }

    @Test
    void finetuneGroupsCoverEveryParameterOnceAndTheHeadPhaseTrainsTheClassifier() {
        List<ResNetConfig> nets = List.of(
                ResNetConfig.vit(ViTConfig.parse("family=vit naming=timm image=16 patch=8 hidden=16 depth=3 heads=2 mlp=32 classes=2 in_channels=3")),
                ResNetConfig.vit(ViTConfig.parse("family=vit naming=torchvision image=16 patch=8 hidden=16 depth=3 heads=2 mlp=32 classes=2 in_channels=3")),
                ResNetConfig.swin(SwinConfig.parse("family=swin patch=4 embed=8 depths=2,2 heads=1,2 window=2 stochastic_depth=0.1 classes=2 in_channels=3")));
        for (ResNetConfig c : nets) {
            try (ResNet m = ResNet.builder(c).device(Device.REFERENCE).seed(1).build()) {
                List<ParamGroup> groups = new Phase(Phase.FINETUNE, 0, 1).groups(m, config(null));
                Set<Parameter> seen = Collections.newSetFromMap(new IdentityHashMap<>());
                int count = 0;
                Set<String> head = new TreeSet<>();
                for (ParamGroup g : groups) {
                    for (Parameter p : g.parameters()) {
                        seen.add(p);
                        count++;
                        if (g.name().startsWith("head")) {
                            head.add(name(m, p));
                        }
                    }
                }
                assertEquals(m.parameters().size(), count, c + ": each parameter in one group");
                assertEquals(m.parameters().size(), seen.size(), c + ": every parameter in a group");
                String norm = c.isSwin() ? "norm." : c.vitConfig().naming().finalNorm + ".";
                String fc = m.topology().fc() + ".";
                assertEquals(names(m, norm, fc), head, c + ": the head group is the final norm and the classifier");

                new Phase(Phase.HEAD, 0, 1).configureFreezing(m, config(null));
                assertEquals(names(m, fc), trainable(m), c + ": the head phase trains the classifier only");
            }
        }
    }

    private static String name(ResNet m, Parameter p) {
        return m.namedParameters().entrySet().stream().filter(e -> e.getValue() == p).findFirst().orElseThrow().getKey();
    }

    private static Set<String> names(ResNet m, String... prefixes) {
        Set<String> out = new TreeSet<>();
        m.namedParameters().keySet().forEach(k -> {
            for (String p : prefixes) {
                if (k.startsWith(p)) {
                    out.add(k);
                }
            }
        });
        return out;
    }

    private static Set<String> trainable(ResNet m) {
        Set<String> out = new TreeSet<>();
        m.namedParameters().forEach((k, p) -> {
            if (p.trainable()) {
                out.add(k);
            }
        });
        return out;
    }
}
