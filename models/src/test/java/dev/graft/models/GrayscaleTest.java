package dev.graft.models;

import dev.graft.engine.Device;
import dev.graft.engine.Scope;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A one-channel model adapted by summing conv1's RGB kernels gives, for a gray image, the logits the RGB model
 * gives that image replicated to three channels. The sums are rounded to F32 once, so the two agree to about
 * 1e-6 relative; tolerance 1e-5 relative to the largest logit.
 */
class GrayscaleTest {

    private static Tensor replicate(Tensor gray) {
        int n = gray.dim(0);
        int hw = gray.dim(2) * gray.dim(3);
        float[] g = gray.toFloatArray();
        float[] rgb = new float[n * 3 * hw];
        for (int b = 0; b < n; b++) {
            for (int c = 0; c < 3; c++) {
                System.arraycopy(g, b * hw, rgb, (b * 3 + c) * hw, hw);
            }
        }
        return Tensor.fromArray(Device.REFERENCE, rgb, n, 3, gray.dim(2), gray.dim(3));
    }

    private static void assertClose(float[] expected, float[] actual) {
        double scale = 0;
        for (float v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-5 * scale, "logit " + i);
        }
    }

    @Test
    void grayImageOnAdaptedModelMatchesReplicatedImageOnRgbModel() {
        for (ResNetConfig c : new ResNetConfig[] {TinyModels.basic(), TinyModels.bottleneck()}) {
            try (ResNet m = TinyModels.build(c, 21); Scope s = Scope.open()) {
                Tensor gray = TinyModels.images(3, 1, 32, 4);
                Tensor rgb = replicate(gray);
                float[] rgbEval = m.eval().forward(rgb).toFloatArray();
                float[] rgbTrain = m.train().forward(rgb).toFloatArray();
                try (ResNet reference = TinyModels.build(c, 21)) {
                    m.load(reference.stateDict(), true); // undo the train-mode running-stat update
                }
                m.adaptToGrayscale();
                assertArrayEquals(new int[] {4, 1, 7, 7}, m.conv1().weight().shape().dims());
                assertEquals(1, m.config().inChannels());
                assertClose(rgbEval, m.eval().forward(gray).toFloatArray());
                assertClose(rgbTrain, m.train().forward(gray).toFloatArray());
                assertThrows(ModelException.class, () -> m.forward(rgb));
            }
        }
    }

    @Test
    void adaptedModelSavesAndReloadsAsOneChannel() {
        try (ResNet m = TinyModels.build(TinyModels.basic(), 2)) {
            m.freeze("conv1");
            m.adaptToGrayscale();
            assertEquals(false, m.conv1().weight().trainable());
            StateDict s = m.stateDict();
            s.metadata().clear();
            try (ResNet back = ResNet.fromStateDict(s, Device.REFERENCE)) {
                assertEquals(1, back.config().inChannels());
                assertEquals(s.get("conv1.weight"), back.stateDict().get("conv1.weight"));
            }
        }
    }

    @Test
    void summedKernelsAreTheChannelSums() {
        try (ResNet m = TinyModels.build(TinyModels.basic(), 2)) {
            float[] w = m.conv1().weight().tensor().toFloatArray();
            m.adaptToGrayscale();
            float[] g = m.conv1().weight().tensor().toFloatArray();
            for (int o = 0; o < 4; o++) {
                for (int i = 0; i < 49; i++) {
                    double sum = (double) w[(o * 3) * 49 + i] + w[(o * 3 + 1) * 49 + i] + w[(o * 3 + 2) * 49 + i];
                    assertEquals((float) sum, g[o * 49 + i]);
                }
            }
        }
    }
}
