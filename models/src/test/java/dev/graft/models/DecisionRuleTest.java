package dev.graft.models;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The one decision rule: defaults, threshold semantics and the validation of metadata and user thresholds. */
class DecisionRuleTest {
    private static final List<String> XRAY = List.of("normal", "pneumonia");
    private static final List<String> THREE = List.of("a", "b", "c");

    private static void assertMentions(RuntimeException e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message '" + e.getMessage() + "' should mention '" + p + "'");
        }
    }

    @Test
    void withoutMetadataTheMostProbableClassWinsAsTorchArgmax() {
        DecisionRule r = DecisionRule.fromMetadata("m.safetensors", Map.of(), XRAY);
        assertFalse(r.hasThreshold());
        assertEquals(1, r.positiveIndex(), "two classes: class 1 is positive by default (sklearn's pos_label=1)");
        assertEquals(0.5, r.effectiveThreshold());
        assertEquals(1, r.decide(new double[] {0.49, 0.51}));
        assertEquals(0, r.decide(new double[] {0.51, 0.49}));
        assertEquals(0, r.decide(new double[] {0.5, 0.5}), "ties go to the first maximum, as torch.argmax");
        DecisionRule multi = DecisionRule.fromMetadata("m.safetensors", Map.of(), THREE);
        assertEquals(-1, multi.positiveIndex(), "more than two classes: no positive class unless named");
        assertEquals(1, multi.decide(new double[] {0.2, 0.5, 0.3}));
        assertEquals(0, multi.decide(new double[] {0.4, 0.4, 0.2}));
        assertTrue(r.toMetadata().isEmpty(), "argmax is the absence of a threshold");
    }

    @Test
    void aThresholdOnThePositiveClassDecides() {
        DecisionRule r = DecisionRule.fromMetadata("m.safetensors",
                Map.of(DecisionRule.META_THRESHOLD, "0.3", DecisionRule.META_POSITIVE_CLASS, "normal"), XRAY);
        assertEquals(0, r.positiveIndex());
        assertEquals(0, r.decide(new double[] {0.3, 0.7}), "P(positive) >= threshold, inclusive");
        assertEquals(1, r.decide(new double[] {0.29, 0.71}));
        assertEquals("P(normal) >= 0.3", r.describe());
        assertEquals(Map.of(DecisionRule.META_THRESHOLD, "0.3", DecisionRule.META_POSITIVE_CLASS, "normal"), r.toMetadata());
        // By index, and on three classes: below the threshold the most probable other class wins.
        DecisionRule multi = DecisionRule.fromMetadata("m.safetensors",
                Map.of(DecisionRule.META_THRESHOLD, "0.2", DecisionRule.META_POSITIVE_CLASS, "2"), THREE);
        assertEquals(2, multi.decide(new double[] {0.5, 0.3, 0.2}));
        assertEquals(1, multi.decide(new double[] {0.3, 0.51, 0.19}));
    }

    @Test
    void aClassNameWinsOverAnIndex() {
        DecisionRule r = DecisionRule.fromMetadata("m", Map.of(DecisionRule.META_POSITIVE_CLASS, "0"), List.of("1", "0"));
        assertEquals(1, r.positiveIndex());
    }

    @Test
    void aUserThresholdReplacesTheFilesAndIsCheckedTheSameWay() {
        DecisionRule file = DecisionRule.fromMetadata("m", Map.of(DecisionRule.META_THRESHOLD, "0.3"), XRAY);
        DecisionRule user = file.withThreshold(0.9, "--threshold");
        assertEquals(0.9, user.threshold());
        assertEquals(1, user.positiveIndex());
        for (double bad : new double[] {2, Double.NaN, Double.NEGATIVE_INFINITY, -0.1}) {
            assertMentions(assertThrows(DecisionRuleException.class, () -> file.withThreshold(bad, "--threshold")),
                    "--threshold " + bad, "[0, 1]", "P(pneumonia) >= 0.3");
        }
        assertMentions(assertThrows(DecisionRuleException.class,
                () -> DecisionRule.argmax(THREE).withThreshold(0.5, "--threshold")), "needs a positive class", "graft.positive_class");
    }

    @ParameterizedTest
    @ValueSource(strings = {"2", "NaN", "-Infinity", "-0.1", "Infinity", "1.0000001", "abc", "", "0.5 0.6"})
    void badThresholdMetadataIsATypedErrorNamingKeyAndValue(String value) {
        var e = assertThrows(DecisionRuleException.class, () -> DecisionRule.fromMetadata("m.safetensors",
                Map.of(DecisionRule.META_THRESHOLD, value), XRAY));
        assertMentions(e, "m.safetensors", "graft.threshold = '" + value + "'", "[0, 1]");
    }

    @ParameterizedTest
    @ValueSource(strings = {"covid", "2", "-1", "1.0", ""})
    void anUnknownPositiveClassIsATypedErrorNamingKeyValueAndClasses(String value) {
        var e = assertThrows(DecisionRuleException.class, () -> DecisionRule.fromMetadata("m.safetensors",
                Map.of(DecisionRule.META_POSITIVE_CLASS, value), XRAY));
        assertMentions(e, "m.safetensors", "graft.positive_class = '" + value + "'", "[normal, pneumonia]", "0..1");
    }

    @Test
    void aThresholdOnMoreThanTwoClassesMustNameItsClass() {
        var e = assertThrows(DecisionRuleException.class, () -> DecisionRule.fromMetadata("m.safetensors",
                Map.of(DecisionRule.META_THRESHOLD, "0.4"), THREE));
        assertMentions(e, "graft.threshold = '0.4'", "needs graft.positive_class", "3 classes");
    }
}
