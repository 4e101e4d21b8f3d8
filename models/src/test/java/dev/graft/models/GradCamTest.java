package dev.graft.models;

import dev.graft.engine.Device;
import dev.graft.engine.Scope;
import dev.graft.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GradCam's contract on a tiny model (values are checked against torch in GradCamParityTest). */
class GradCamTest {
    @Test
    void mapsAreInTheUnitIntervalAtTheInputSizeAndPredictedIsTheArgmax() {
        try (ResNet m = TinyModels.build(TinyModels.basic(), 5); Scope s = Scope.open()) {
            m.eval();
            Tensor x = TinyModels.images(3, 3, 70, 11);
            float[] logits = m.forward(x).toFloatArray();
            List<GradCam.Explanation> e = new GradCam(m, GradCam.Method.GRAD_CAM).explain(x);
            for (int i = 0; i < 3; i++) {
                int best = 0;
                for (int c = 1; c < 3; c++) {
                    best = logits[3 * i + c] > logits[3 * i + best] ? c : best;
                }
                assertEquals(best, e.get(i).classIndex());
                assertArrayEquals(java.util.Arrays.copyOfRange(logits, 3 * i, 3 * i + 3), e.get(i).logits(), 1e-5f);
                assertEquals(70, e.get(i).map().length);
                assertEquals(70, e.get(i).map()[0].length);
                assertTrue(e.get(i).finite());
                for (float[] row : e.get(i).map()) {
                    for (float v : row) {
                        assertTrue(v >= 0 && v <= 1, "map value " + v);
                    }
                }
            }
            for (Parameter p : m.parameters()) {
                assertNull(p.tensor().grad(), p.name() + " got a gradient");
            }
        }
    }

    @Test
    void badClassesAreTypedErrors() {
        try (ResNet m = TinyModels.build(TinyModels.basic(), 5); Scope s = Scope.open()) {
            m.eval();
            Tensor x = TinyModels.images(2, 3, 64, 1);
            GradCam cam = new GradCam(m, GradCam.Method.GRAD_CAM_PLUS_PLUS);
            ModelException range = assertThrows(ModelException.class, () -> cam.explain(x, new int[] {0, 3}));
            assertTrue(range.getMessage().contains("out of range"), range.getMessage());
            ModelException count = assertThrows(ModelException.class, () -> cam.explain(x, new int[] {0}));
            assertTrue(count.getMessage().contains("one per image"), count.getMessage());
            m.train();
            ModelException mode = assertThrows(ModelException.class, () -> cam.explain(x));
            assertTrue(mode.getMessage().contains("eval mode"), mode.getMessage());
        }
    }

    @Test
    void aNanImageGetsNoMapAndTheOthersStillDo() {
        try (ResNet m = TinyModels.build(TinyModels.basic(), 5); Scope s = Scope.open()) {
            m.eval();
            float[] v = TinyModels.images(2, 3, 64, 2).toFloatArray();
            v[5] = Float.NaN; // image 0
            Tensor x = Tensor.fromArray(Device.REFERENCE, v, 2, 3, 64, 64);
            List<GradCam.Explanation> e = new GradCam(m, GradCam.Method.GRAD_CAM).explain(x, new int[] {0, 0});
            assertFalse(e.get(0).finite());
            assertTrue(e.get(1).finite());
        }
    }

    @Test
    void upsamplingAFlatMapKeepsItFlatAndNormalisingItGivesZeros() {
        float[][] up = GradCam.upsample(new float[][] {{2, 2}, {2, 2}}, 5, 3);
        for (float[] row : up) {
            assertArrayEquals(new float[] {2, 2, 2}, row);
        }
        assertTrue(GradCam.normalize(up));
        for (float[] row : up) {
            assertArrayEquals(new float[] {0, 0, 0}, row);
        }
        // torch: F.interpolate(tensor([[[[0., 1.]]]]), size=(1, 4), mode="bilinear", align_corners=False)
        //        -> [0, 0.25, 0.75, 1] (source x = (dst + 0.5) / 2 - 0.5, clamped at 0)
        assertArrayEquals(new float[] {0, 0.25f, 0.75f, 1}, GradCam.upsample(new float[][] {{0, 1}}, 1, 4)[0], 1e-7f);
    }
}
