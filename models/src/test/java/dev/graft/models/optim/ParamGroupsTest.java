package dev.graft.models.optim;

import dev.graft.models.BlockType;
import dev.graft.models.Parameter;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParamGroupsTest {

    @Test
    void backboneHeadAndNoDecaySplits() {
        try (ResNet m = ResNet.builder(ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(4, 4, 8, 8, 8)).build()) {
            List<ParamGroup> bh = ParamGroups.backboneAndHead(m, "fc");
            assertEquals(List.of("backbone", "head"), bh.stream().map(ParamGroup::name).toList());
            assertEquals(m.parameters().size() - 2, bh.get(0).parameters().size());
            bh.get(0).lr(1e-4);
            List<ParamGroup> split = ParamGroups.withoutDecayOnNormAndBias(bh);
            assertEquals(List.of("backbone", "backbone_no_decay", "head", "head_no_decay"), split.stream().map(ParamGroup::name).toList());
            assertTrue(split.get(1).parameters().stream().allMatch(p -> p.name().contains("bn") || p.name().contains("downsample.1")));
            assertEquals(List.of("fc.bias"), split.get(3).parameters().stream().map(Parameter::name).toList());
            try (Sgd sgd = Sgd.builder(0.1).weightDecay(1e-4).build(split)) {
                assertEquals(1e-4, sgd.lr("backbone_no_decay"));
                assertEquals(0.0, sgd.weightDecay("backbone_no_decay"));
                assertEquals(1e-4, sgd.weightDecay("backbone"));
                assertEquals(0.1, sgd.lr("head"));
            }
        }
    }
}
