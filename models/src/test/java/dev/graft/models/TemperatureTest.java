package dev.graft.models;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code graft.temperature}: read through ModelMetadata, and softmax(logits / T). */
class TemperatureTest {
    private static final ResNetConfig TWO = ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(4, 4, 4, 8, 8).withNumClasses(2);

    @Test
    void absentIsOneAndAValidValueIsRead() {
        assertEquals(1.0, ModelMetadata.read("m.safetensors", Map.of(), TWO).temperature());
        assertEquals(2.5, ModelMetadata.read("m.safetensors", Map.of(Temperature.META_TEMPERATURE, " 2.5 "), TWO).temperature());
        assertEquals(Map.of(), Temperature.toMetadata(Double.NaN), "not calibrated: no key");
        assertEquals(Map.of(Temperature.META_TEMPERATURE, "1.75"), Temperature.toMetadata(1.75));
    }

    @Test
    void aBadValueIsATypedErrorNamingFileKeyAndValue() {
        for (String bad : new String[] {"0", "-1", "NaN", "Infinity", "abc", "", "1e9", "0.001", "100.5"}) {
            ModelMetadataException e = assertThrows(ModelMetadataException.class,
                    () -> ModelMetadata.read("m.safetensors", Map.of(Temperature.META_TEMPERATURE, bad), TWO), bad);
            assertTrue(e.getMessage().startsWith("m.safetensors: metadata graft.temperature = '" + bad + "'"), e.getMessage());
            assertTrue(e.getMessage().contains("remove the key"), e.getMessage());
        }
    }

    /** By hand: logits (1, 3), T = 2 -> softmax(0.5, 1.5) = (1, e) / (1 + e). */
    @Test
    void softmaxDividesTheLogitsByT() {
        double e = Math.E;
        assertArrayEquals(new double[] {1 / (1 + e), e / (1 + e)},
                ClassProbabilities.softmax(new float[] {9, 1, 3}, 1, 2, 2.0, "x.png"), 1e-15);
        float[] z = {0.3f, -1.7f, 2.2f};
        assertArrayEquals(ClassProbabilities.softmax(z, 0, 3, "x.png"), ClassProbabilities.softmax(z, 0, 3, 1.0, "x.png"),
                "T = 1 is the plain softmax, bit for bit");
        assertThrows(NonFiniteOutputException.class, () -> ClassProbabilities.softmax(new float[] {Float.NaN, 1}, 0, 2, 2.0, "x.png"));
    }
}
