package dev.graft.models;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A multi-label model's per-label decision: metadata round trip, the "at or above" rule, and bad values refused. */
class PerLabelDecisionTest {
    private static final List<String> LABELS = List.of("Atelectasis", "Edema", "Effusion");

    @Test
    void roundTripsAndDecidesAtOrAboveEachThreshold() {
        DecisionRule.PerLabel rule = new DecisionRule.PerLabel(LABELS, new double[] {0.3, 0.5, 0.75});
        Map<String, String> meta = rule.toMetadata();
        assertEquals("sigmoid", meta.get("graft.multi_label"));
        DecisionRule.PerLabel back = DecisionRule.PerLabel.fromMetadata("m.safetensors", meta, LABELS);
        assertArrayEquals(rule.thresholds(), back.thresholds());
        assertArrayEquals(new boolean[] {true, false, true}, back.decide(new double[] {0.3, 0.4999, 0.9}));
        assertNull(DecisionRule.PerLabel.fromMetadata("m", Map.of(), LABELS), "single-label file");
        assertArrayEquals(new double[] {0.5, 0.5, 0.5},
                DecisionRule.PerLabel.fromMetadata("m", Map.of("graft.multi_label", "sigmoid"), LABELS).thresholds());
    }

    @Test
    void badMetadataIsATypedErrorNamingTheKey() {
        DecisionRuleException count = assertThrows(DecisionRuleException.class, () -> DecisionRule.PerLabel.fromMetadata("m",
                Map.of("graft.multi_label", "sigmoid", "graft.label_thresholds", "0.3,0.4"), LABELS));
        assertTrue(count.getMessage().contains("graft.label_thresholds") && count.getMessage().contains("3 labels"), count.getMessage());
        DecisionRuleException range = assertThrows(DecisionRuleException.class, () -> DecisionRule.PerLabel.fromMetadata("m",
                Map.of("graft.multi_label", "sigmoid", "graft.label_thresholds", "0.3,1.5,0.2"), LABELS));
        assertTrue(range.getMessage().contains("Edema"), range.getMessage());
        DecisionRuleException kind = assertThrows(DecisionRuleException.class, () -> DecisionRule.PerLabel.fromMetadata("m",
                Map.of("graft.multi_label", "softmax"), LABELS));
        assertTrue(kind.getMessage().contains("graft.multi_label"), kind.getMessage());
    }
}
